package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/container"
	"github.com/tektoncd/pipeline/pkg/substitution"
	corev1 "k8s.io/api/core/v1"
)

// substitute applies Tekton's variable substitution to the steps and maps
// the pod's paths (/tekton/results, /tekton/home, /workspace) to this
// TaskRun's directories.
func (r *Runner) substitute(in *taskInput, tr *v1.TaskRun, attempt int, dirs taskDirs) ([]v1.Step, error) {
	spec := in.spec
	// Every variable is substituted in one pass, as Tekton's replacer does
	// (tektoncd/pipeline#2093): text that came from a value (a --param, a
	// result) is never substituted again, so a value holding
	// "$(workspaces.x.path)" or "$(params.y)" reaches the step literally.
	// A param default is the task author's text: it may name context,
	// workspace and result variables, which are filled in first.
	repl, err := taskVariables(in, tr, attempt, dirs)
	if err != nil {
		return nil, err
	}
	params, _, err := paramReplacementsDefaults(in.where, spec.Params, in.params, repl.str)
	if err != nil {
		return nil, err
	}
	// Object params are whole-object substitutable only in pipelines;
	// their keys were added as strings above.
	all := newReplacements()
	all.merge(repl)
	all.merge(params)
	volumes, err := r.volumeDirs(in.where, spec.Volumes, params, dirs)
	if err != nil {
		return nil, err
	}
	var out []v1.Step
	for _, orig := range spec.Steps {
		s, err := localStep(in.where, orig, spec.StepTemplate, all, volumes, dirs)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// taskVariables are the variables of a TaskRun other than its params:
// context, workspaces, result paths, credentials and step exit code
// paths (whose directories it makes).
func taskVariables(in *taskInput, tr *v1.TaskRun, attempt int, dirs taskDirs) (replacements, error) {
	spec := in.spec
	repl := newReplacements()
	taskName := in.taskName
	if taskName == "" {
		taskName = in.pipelineTask
	}
	for k, v := range map[string]string{
		"context.taskRun.name":      tr.Name,
		"context.task.name":         taskName,
		"context.taskRun.namespace": tr.Namespace,
		"context.taskRun.uid":       string(tr.UID),
		"context.task.retry-count":  strconv.Itoa(attempt),
	} {
		repl.str[k] = v
	}
	for _, w := range spec.Workspaces {
		dir, bound := in.workspaces[w.Name]
		if !bound && !w.Optional {
			return repl, fmt.Errorf("%s: workspace %q is not bound", in.where, w.Name)
		}
		repl.str["workspaces."+w.Name+".path"] = dir
		repl.str["workspaces."+w.Name+".bound"] = strconv.FormatBool(bound)
		repl.str["workspaces."+w.Name+".claim"] = ""
		repl.str["workspaces."+w.Name+".volume"] = w.Name
	}
	for _, res := range spec.Results {
		p := filepath.Join(dirs.results, res.Name)
		repl.str["results."+res.Name+".path"] = p
		repl.str[fmt.Sprintf("results[%q].path", res.Name)] = p
		repl.str[fmt.Sprintf("results['%s'].path", res.Name)] = p
	}
	repl.str["credentials.path"] = dirs.home
	for _, s := range spec.Steps {
		d := filepath.Join(dirs.steps, "step-"+s.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return repl, err
		}
		repl.str["steps.step-"+s.Name+".exitCode.path"] = filepath.Join(d, "exitCode")
		repl.str["steps."+s.Name+".exitCode.path"] = filepath.Join(d, "exitCode")
	}
	return repl, nil
}

// volumeDirs gives each volume its directory: a new one for an emptyDir
// (or an optional secret not given), the one given with WithSecrets for a
// secret.
func (r *Runner) volumeDirs(where string, vols []corev1.Volume, params replacements, dirs taskDirs) (map[string]string, error) {
	volumes := map[string]string{}
	for _, v := range vols {
		switch {
		case v.EmptyDir != nil:
			volumes[v.Name] = filepath.Join(dirs.volumes, v.Name)
		case v.Secret != nil:
			secret := substitution.ApplyReplacements(v.Secret.SecretName, params.str)
			if dir, ok := r.o.secrets[secret]; ok {
				volumes[v.Name] = dir
				continue
			}
			if v.Secret.Optional == nil || !*v.Secret.Optional {
				return nil, fmt.Errorf("%s: volume %q: secret %q not given (give it with --secret %s=DIR)", where, v.Name, secret, secret)
			}
			// An optional secret that does not exist mounts empty.
			volumes[v.Name] = filepath.Join(dirs.volumes, v.Name)
		default:
			return nil, fmt.Errorf("%s: volume %q: only emptyDir and secret volumes are supported locally", where, v.Name)
		}
		if err := os.MkdirAll(volumes[v.Name], 0o755); err != nil {
			return nil, err
		}
		if isMemory(v) {
			var limit int64
			if v.EmptyDir.SizeLimit != nil {
				limit = v.EmptyDir.SizeLimit.Value()
			}
			mountMemory(volumes[v.Name], limit)
		}
	}
	return volumes, nil
}

// localStep is a step with its stepTemplate applied, its variables
// substituted and every pod path (mounts, /tekton/results, /tekton/home,
// /workspace) mapped to the TaskRun's directories.
func localStep(where string, orig v1.Step, template *v1.StepTemplate, all replacements, volumes map[string]string, dirs taskDirs) (v1.Step, error) {
	s := *orig.DeepCopy()
	if template != nil {
		mergeTemplate(&s, template)
	}
	paths, err := podPaths(where, &s, volumes, dirs)
	if err != nil {
		return s, err
	}
	container.ApplyStepReplacements(&s, all.str, all.arr)
	for i := range s.Command {
		s.Command[i] = paths.Replace(s.Command[i])
	}
	for i := range s.Args {
		s.Args[i] = paths.Replace(s.Args[i])
	}
	for i := range s.Env {
		s.Env[i].Value = paths.Replace(s.Env[i].Value)
	}
	switch {
	case s.WorkingDir == "" || s.WorkingDir == "/workspace":
		s.WorkingDir = dirs.work
	case strings.HasPrefix(s.WorkingDir, "/workspace/"):
		s.WorkingDir = filepath.Join(dirs.work, strings.TrimPrefix(s.WorkingDir, "/workspace/"))
	default:
		s.WorkingDir = paths.Replace(s.WorkingDir)
	}
	for _, cfg := range []*v1.StepOutputConfig{s.StdoutConfig, s.StderrConfig} {
		if cfg != nil {
			cfg.Path = paths.Replace(cfg.Path)
		}
	}
	return s, nil
}

// podPaths maps the paths a step sees in a pod to the TaskRun's
// directories: a mount path becomes the volume's directory wherever the
// step names it, the longest mount path first.
func podPaths(where string, s *v1.Step, volumes map[string]string, dirs taskDirs) (*strings.Replacer, error) {
	pairs := []string{"/tekton/results", dirs.results, "/tekton/home", dirs.home, "/tekton/creds", dirs.home}
	mounts := append([]corev1.VolumeMount(nil), s.VolumeMounts...)
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].MountPath) > len(mounts[j].MountPath) })
	for _, m := range mounts {
		dir, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("%s: step %q: volumeMounts %q: no such volume", where, s.Name, m.Name)
		}
		// The mapping rewrites the mount path wherever it appears, so a
		// mount path that is also where the TaskRun's own directories lie
		// (a volume at /tmp, with the work directory under /tmp) would
		// rewrite those too: refuse it rather than run a broken step.
		if mp := strings.TrimSuffix(m.MountPath, "/"); mp == "" || dirs.work == mp || strings.HasPrefix(dirs.work, mp+"/") {
			return nil, fmt.Errorf("%s: step %q: volumeMounts %q: mountPath %q holds this run's work directory %s, and trustline run maps mount paths by rewriting them: use another mount path (for a temporary directory, /var/tmp with TMPDIR) or another --output directory", where, s.Name, m.Name, m.MountPath, dirs.work)
		}
		pairs = append([]string{strings.TrimSuffix(m.MountPath, "/"), dir}, pairs...)
	}
	return strings.NewReplacer(pairs...), nil
}

// mergeTemplate applies a stepTemplate as Tekton does: the step's own
// values win, env is merged by name.
func mergeTemplate(s *v1.Step, t *v1.StepTemplate) {
	if s.WorkingDir == "" {
		s.WorkingDir = t.WorkingDir
	}
	have := map[string]bool{}
	for _, e := range s.Env {
		have[e.Name] = true
	}
	var env []corev1.EnvVar
	for _, e := range t.Env {
		if !have[e.Name] {
			env = append(env, e)
		}
	}
	s.Env = append(env, s.Env...)
	mounted := map[string]bool{}
	for _, m := range s.VolumeMounts {
		mounted[m.Name] = true
	}
	for _, m := range t.VolumeMounts {
		if !mounted[m.Name] {
			s.VolumeMounts = append(s.VolumeMounts, m)
		}
	}
}
