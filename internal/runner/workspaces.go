package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
)

// checkTaskWorkspaces refuses a pipeline task that leaves a required
// workspace of its Task unbound, or binds it to a pipeline workspace that
// is optional (Tekton's PipelineRun reconciler refuses that too, whether or
// not the task runs), before anything runs.
func checkTaskWorkspaces(where string, spec *v1.TaskSpec, pt *v1.PipelineTask, optionalPipelineWorkspaces map[string]bool) error {
	bound := map[string]string{}
	for _, w := range pt.Workspaces {
		bound[w.Name] = w.Workspace
	}
	for _, d := range spec.Workspaces {
		if d.Optional {
			continue
		}
		pw, ok := bound[d.Name]
		if !ok {
			return fmt.Errorf("%s: the task's workspace %q is not bound (workspaces[].name)", where, d.Name)
		}
		if optionalPipelineWorkspaces[pw] {
			return fmt.Errorf("%s: the task requires workspace %q, bound to pipeline workspace %q, which is marked optional: Tekton refuses the PipelineRun (mark it required, or the task's workspace optional)", where, d.Name, pw)
		}
	}
	return nil
}

// WorkspaceDirs parses command-line `name=DIR` workspace bindings.
func WorkspaceDirs(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--workspace %q: want name=DIR", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--workspace %s: given twice", k)
		}
		abs, err := filepath.Abs(v)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("--workspace %s: %w", k, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("--workspace %s: %s is not a directory", k, abs)
		}
		out[k] = abs
	}
	return out, nil
}

func checkWorkspaces(where string, decls []v1.WorkspaceDeclaration, dirs map[string]string) error {
	known := map[string]bool{}
	var missing []string
	for _, d := range decls {
		known[d.Name] = true
		if _, ok := dirs[d.Name]; !ok && !d.Optional {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: workspace(s) not bound: %s (bind with --workspace name=DIR)", where, strings.Join(missing, ", "))
	}
	for n := range dirs {
		if !known[n] {
			return fmt.Errorf("%s: --workspace %s: the task declares no such workspace", where, n)
		}
	}
	return nil
}

// checkPipelineWorkspaces refuses a PipelineRun that leaves a required
// workspace of the Pipeline unbound or binds one it does not declare.
func checkPipelineWorkspaces(where string, decls []v1.PipelineWorkspaceDeclaration, dirs map[string]string) error {
	for _, w := range decls {
		if _, ok := dirs[w.Name]; !ok && !w.Optional {
			return fmt.Errorf("%s: workspace %q not bound (bind with --workspace %s=DIR)", where, w.Name, w.Name)
		}
	}
	for n := range dirs {
		found := false
		for _, w := range decls {
			found = found || w.Name == n
		}
		if !found {
			return fmt.Errorf("%s: --workspace %s: the pipeline declares no such workspace", where, n)
		}
	}
	return nil
}

// workspaceBindings binds each workspace, by name, to its host directory:
// a host directory has no Kubernetes volume type, so the binding is an
// emptyDir, the closest, and an annotation trustline.dev/workspace.<name>
// says which directory it was.
func workspaceBindings(dirs map[string]string, annotations map[string]string) []v1.WorkspaceBinding {
	names := make([]string, 0, len(dirs))
	for n := range dirs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []v1.WorkspaceBinding
	for _, n := range names {
		out = append(out, v1.WorkspaceBinding{Name: n, EmptyDir: &corev1.EmptyDirVolumeSource{}})
		annotations["trustline.dev/workspace."+n] = dirs[n]
	}
	return out
}
