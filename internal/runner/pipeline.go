package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// Run is a finished PipelineRun with its TaskRuns.
type Run struct {
	PipelineRun *v1.PipelineRun
	// TaskRuns in the order they started.
	TaskRuns []*v1.TaskRun
	// Tasks is one line per pipeline task, in the pipeline's order
	// (tasks, then finally), for the summary.
	Tasks []TaskSummary
}

// TaskSummary is one pipeline task's outcome.
type TaskSummary struct {
	Name     string
	Finally  bool
	Status   string // Succeeded, Failed, Skipped, TimedOut
	Reason   string // why it failed or was skipped
	Duration time.Duration
	TaskRun  *v1.TaskRun // nil when skipped
}

// PipelineOption sets a property of a PipelineRun.
type PipelineOption func(*pipelineInput)

type pipelineInput struct {
	refSource *v1.RefSource
}

// PipelineRefSource records where the Pipeline came from (its bundle).
func PipelineRefSource(src *v1.RefSource) PipelineOption {
	return func(p *pipelineInput) { p.refSource = src }
}

// RunPipeline runs a Pipeline as a PipelineRun. Everything is checked
// before any task starts: params, workspaces, every task's fields and
// images. A PipelineRun that did not succeed is returned with an error
// wrapping ErrTaskFailed (or a timeout).
func (r *Runner) RunPipeline(ctx context.Context, p *v1.Pipeline, params v1.Params, workspaces map[string]string, opts ...PipelineOption) (*Run, error) {
	in := &pipelineInput{}
	for _, o := range opts {
		o(in)
	}
	where := "Pipeline " + p.Name
	if err := checkPipelineSpec(where, &p.Spec); err != nil {
		return nil, err
	}
	repl, _, err := paramReplacements(where, p.Spec.Params, params)
	if err != nil {
		return nil, err
	}
	if err := checkPipelineWorkspaces(where, p.Spec.Workspaces, workspaces); err != nil {
		return nil, err
	}
	pr := r.newPipelineRun(p, params, workspaces, in.refSource)
	// Context variables, as Tekton applies them before anything runs.
	for k, v := range pipelineContext(pr) {
		repl.str[k] = v
	}
	// Resolve and check every task first: nothing runs if any cannot.
	tasks, err := r.planPipeline(ctx, where, &p.Spec, repl)
	if err != nil {
		return nil, err
	}
	x := r.startPipelineRun(pr, tasks, repl, workspaces)
	timedOut := x.schedule(ctx)
	err = x.complete(where, p.Spec.Results, timedOut)
	if cerr := r.afterPipelineRun(ctx, x.run); cerr != nil {
		pr.Annotations["chains.tekton.dev/signed"] = "failed"
		err = errors.Join(err, fmt.Errorf("%s: chains: %w", where, cerr))
	}
	return x.run, err
}
