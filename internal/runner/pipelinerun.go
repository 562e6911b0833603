package runner

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

func (r *Runner) pipelineFailure(where string, order []*ptRun, pipelineErr error) error {
	var errs []error
	if pipelineErr != nil {
		errs = append(errs, pipelineErr)
	}
	for _, p := range order {
		if p.state == ptFailed {
			errs = append(errs, fmt.Errorf("task %s: %w", p.pt.Name, taskFailure(p.tr)))
		}
	}
	return fmt.Errorf("%s failed: %w", where, errors.Join(errs...))
}

func runtimeTypeMeta() runtime.TypeMeta {
	return runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}
}
