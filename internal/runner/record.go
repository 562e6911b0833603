package runner

import (
	"encoding/json"
	"os"
	"path/filepath"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/outfile"
)

// Record writes the PipelineRun (when not nil) and TaskRuns as YAML into
// dir: pipelinerun.yaml and taskruns/<name>.yaml, and returns the files
// (PipelineRun first). It also writes results.json, the PipelineRun's (or
// the single TaskRun's) results by name.
func Record(dir string, pr *v1.PipelineRun, trs []*v1.TaskRun) ([]string, error) {
	var files []string
	if err := os.MkdirAll(filepath.Join(dir, "taskruns"), 0o755); err != nil {
		return nil, err
	}
	write := func(path string, obj any) error {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if err := outfile.Write(path, b); err != nil {
			return err
		}
		files = append(files, path)
		return nil
	}
	if pr != nil {
		if err := write(filepath.Join(dir, "pipelinerun.yaml"), pr); err != nil {
			return files, err
		}
	}
	// results.json: the run's results by name, for scripts.
	res := map[string]any{}
	if pr != nil {
		for _, r := range pr.Status.Results {
			res[r.Name] = resultJSON(r.Value)
		}
	} else if len(trs) == 1 {
		for _, r := range trs[0].Status.Results {
			res[r.Name] = resultJSON(r.Value)
		}
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return files, err
	}
	if err := outfile.Write(filepath.Join(dir, "results.json"), append(b, '\n')); err != nil {
		return files, err
	}
	for _, tr := range trs {
		if err := write(filepath.Join(dir, "taskruns", tr.Name+".yaml"), tr); err != nil {
			return files, err
		}
	}
	return files, nil
}

// workDirOf is where a TaskRun's results and logs were kept.
func workDirOf(tr *v1.TaskRun) string { return tr.Annotations[annotationWorkDir] }

// annotationWorkDir records a TaskRun's local directory (results, logs).
const annotationWorkDir = "trustline.dev/work-dir"

func resultJSON(v v1.ResultValue) any {
	switch v.Type {
	case v1.ParamTypeArray:
		return v.ArrayVal
	case v1.ParamTypeObject:
		return v.ObjectVal
	}
	return v.StringVal
}
