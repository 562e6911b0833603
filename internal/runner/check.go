package runner

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// UnsupportedError names a field of a Task or Pipeline that the local
// runner cannot honour. The runner refuses such a resource rather than
// run it differently from Tekton.
type UnsupportedError struct {
	// Where is the resource (file, task name).
	Where string
	// Fields are JSON paths, e.g. "spec.steps[0].script".
	Fields []string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: not supported by the local runner: %s (trustline run runs the library's step binaries only; run this on a Tekton cluster)",
		e.Where, strings.Join(e.Fields, ", "))
}

// allow is a tree of the fields the runner implements. A nil value means
// "any content" (a leaf or a free-form map); a map lists the allowed
// keys of an object, applied to each element of a list.
type allow map[string]allow

var paramSpecAllow = allow{"name": nil, "type": nil, "description": nil, "default": nil, "properties": nil}

// securityContext and computeResources are accepted: they constrain a pod
// on a cluster; locally every step runs as the invoking user with the
// machine's resources (see the package documentation).
var stepAllow = allow{
	"name": nil, "displayName": nil, "image": nil, "command": nil, "args": nil,
	"env":        allow{"name": nil, "value": nil},
	"workingDir": nil, "timeout": nil, "onError": nil,
	"securityContext": nil, "computeResources": nil, "imagePullPolicy": nil,
	"stdoutConfig": allow{"path": nil}, "stderrConfig": allow{"path": nil},
	// Mounts of emptyDir volumes: the mount path is rewritten to a
	// directory of the TaskRun.
	// readOnly is not enforced locally.
	"volumeMounts": allow{"name": nil, "mountPath": nil, "readOnly": nil},
}

var taskSpecAllow = allow{
	"description": nil, "displayName": nil,
	"params":       paramSpecAllow,
	"steps":        stepAllow,
	"stepTemplate": allow{"env": allow{"name": nil, "value": nil}, "workingDir": nil, "securityContext": nil, "computeResources": nil, "imagePullPolicy": nil, "volumeMounts": allow{"name": nil, "mountPath": nil, "readOnly": nil}},
	"workspaces":   allow{"name": nil, "description": nil, "mountPath": nil, "readOnly": nil, "optional": nil},
	"results":      allow{"name": nil, "type": nil, "description": nil, "properties": nil},
	// emptyDir volumes are a fresh directory per TaskRun, as on a node
	// (medium Memory: a tmpfs of sizeLimit where the runner may mount);
	// a secret volume is a directory given with WithSecrets (--secret).
	"volumes": allow{"name": nil, "emptyDir": allow{"medium": nil, "sizeLimit": nil}, "secret": allow{"secretName": nil, "optional": nil}},
}

var pipelineTaskAllow = allow{
	"name": nil, "displayName": nil, "description": nil,
	"taskRef":    allow{"name": nil, "kind": nil, "resolver": nil, "params": allow{"name": nil, "value": nil}},
	"taskSpec":   nil, // checked as a TaskSpec on its own
	"params":     allow{"name": nil, "value": nil},
	"runAfter":   nil,
	"when":       allow{"input": nil, "operator": nil, "values": nil},
	"timeout":    nil,
	"retries":    nil,
	"workspaces": allow{"name": nil, "workspace": nil, "subPath": nil},
}

var pipelineSpecAllow = allow{
	"description": nil, "displayName": nil,
	"params":     paramSpecAllow,
	"workspaces": allow{"name": nil, "description": nil, "optional": nil},
	"results":    allow{"name": nil, "type": nil, "description": nil, "value": nil},
	"tasks":      pipelineTaskAllow,
	"finally":    pipelineTaskAllow,
}

// checkTaskSpec refuses a TaskSpec using anything the runner does not
// implement (sidecars, volumes, StepActions, scripts, step results...).
func checkTaskSpec(where, prefix string, spec *v1.TaskSpec) error {
	fields, err := unsupported(prefix, spec, taskSpecAllow)
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		return &UnsupportedError{Where: where, Fields: fields}
	}
	return nil
}

// checkPipelineSpec refuses a PipelineSpec using anything the runner does
// not implement (matrix, pipelines in pipelines, CEL when, custom tasks).
func checkPipelineSpec(where string, spec *v1.PipelineSpec) error {
	fields, err := unsupported("spec", spec, pipelineSpecAllow)
	if err != nil {
		return err
	}
	for i, list := range [][]v1.PipelineTask{spec.Tasks, spec.Finally} {
		kind := "tasks"
		if i == 1 {
			kind = "finally"
		}
		for j, pt := range list {
			p := fmt.Sprintf("spec.%s[%d]", kind, j)
			if pt.TaskRef != nil && pt.TaskRef.Kind != "" && pt.TaskRef.Kind != v1.NamespacedTaskKind {
				fields = append(fields, p+".taskRef.kind ("+string(pt.TaskRef.Kind)+")")
			}
			if pt.TaskSpec != nil {
				if pt.TaskSpec.APIVersion != "" || pt.TaskSpec.Kind != "" {
					fields = append(fields, p+".taskSpec.apiVersion/kind (custom tasks)")
				}
				f, err := unsupported(p+".taskSpec", &pt.TaskSpec.TaskSpec, taskSpecAllow)
				if err != nil {
					return err
				}
				fields = append(fields, f...)
			}
		}
	}
	if len(fields) > 0 {
		return &UnsupportedError{Where: where, Fields: fields}
	}
	return nil
}

func unsupported(prefix string, v any, a allow) ([]string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var out []string
	walk(prefix, m, a, &out)
	return out, nil
}

func walk(path string, v any, a allow, out *[]string) {
	if a == nil {
		return
	}
	switch t := v.(type) {
	case []any:
		for i, item := range t {
			walk(fmt.Sprintf("%s[%d]", path, i), item, a, out)
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, ok := a[k]
			if !ok {
				if isEmpty(t[k]) {
					continue
				}
				*out = append(*out, path+"."+k)
				continue
			}
			walk(path+"."+k, t[k], sub, out)
		}
	}
}

// isEmpty is true for JSON values that say nothing ({} or [] or ""),
// which Tekton's defaulting and Go's encoding can leave behind.
func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		for _, x := range t {
			if !isEmpty(x) {
				return false
			}
		}
		return true
	}
	return false
}

// prepare checks a TaskSpec before anything runs: fields the runner does
// not implement and images it cannot run.
func (r *Runner) prepare(where, prefix string, spec *v1.TaskSpec) error {
	if err := checkTaskSpec(where, prefix, spec); err != nil {
		return err
	}
	for i := range spec.Steps {
		if _, err := r.stepBinary(where, &spec.Steps[i]); err != nil {
			return err
		}
	}
	return nil
}
