// Package runfile reads a Tekton v1 TaskRun or PipelineRun, with its
// status, from a YAML or JSON file (as kubectl get -o yaml prints it). It
// is separate from package provenance so that its fuzz target does not
// drag Chains' formatters (and their coverage map) along.
package runfile

import (
	"fmt"
	"os"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

// Run is a TaskRun or a PipelineRun read from a file.
type Run struct {
	TaskRun     *pipelinev1.TaskRun
	PipelineRun *pipelinev1.PipelineRun
}

// Parse reads a Tekton v1 TaskRun or PipelineRun from YAML or JSON (as
// `kubectl get -o yaml` prints it).
func Parse(b []byte) (*Run, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	if meta.APIVersion != "tekton.dev/v1" {
		return nil, fmt.Errorf("apiVersion %q: want tekton.dev/v1", meta.APIVersion)
	}
	switch meta.Kind {
	case "TaskRun":
		var tr pipelinev1.TaskRun
		if err := yaml.UnmarshalStrict(b, &tr); err != nil {
			return nil, fmt.Errorf("TaskRun: %w", err)
		}
		return &Run{TaskRun: &tr}, nil
	case "PipelineRun":
		var pr pipelinev1.PipelineRun
		if err := yaml.UnmarshalStrict(b, &pr); err != nil {
			return nil, fmt.Errorf("PipelineRun: %w", err)
		}
		return &Run{PipelineRun: &pr}, nil
	}
	return nil, fmt.Errorf("kind %q: want TaskRun or PipelineRun", meta.Kind)
}

// ParseFile reads a TaskRun or PipelineRun file; errors name the file.
func ParseFile(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
