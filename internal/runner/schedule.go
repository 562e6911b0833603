package runner

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The causes of the PipelineRun timeouts, which say which one ended it.
var (
	errPipelineTimeout = errors.New("PipelineRun timeout has been reached")
	errTasksTimeout    = errors.New("PipelineRun tasks timeout has been reached")
	errFinallyTimeout  = errors.New("PipelineRun finally timeout has been reached")
)

// taskDone is a pipeline task's TaskRun at its end, with the error Chains
// met signing what it built.
type taskDone struct {
	p      *ptRun
	tr     *v1.TaskRun
	chains error
}

// schedule runs the tasks, then the finally tasks, within the
// PipelineRun's timeouts, and reports whether the pipeline timeout ended
// the run.
func (x *pipelineRun) schedule(ctx context.Context) (timedOut bool) {
	t := x.pr.Spec.Timeouts
	pctx, cancelP := withTimeoutCause(ctx, t.Pipeline, errPipelineTimeout)
	defer cancelP()
	tctx, cancelT := withTimeoutCause(pctx, t.Tasks, errTasksTimeout)
	defer cancelT()
	x.runTasks(pctx, tctx)
	x.runFinally(pctx, t.Finally)
	return errors.Is(context.Cause(pctx), errPipelineTimeout)
}

// withTimeoutCause is context.WithTimeoutCause for a Tekton timeout,
// where none or zero means no timeout.
func withTimeoutCause(ctx context.Context, d *metav1.Duration, cause error) (context.Context, context.CancelFunc) {
	if d == nil || d.Duration <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, d.Duration, cause)
}

// runTasks runs the DAG: each pass starts every task whose dependencies
// are done, then waits for one running task to end.
func (x *pipelineRun) runTasks(pctx, tctx context.Context) {
	for {
		for _, p := range x.plan.order {
			if !p.finally && p.state == ptPending {
				x.consider(pctx, tctx, p)
			}
		}
		if x.running == 0 {
			return
		}
		x.finish(<-x.events)
	}
}

// consider starts a pending task, skips it, or leaves it for a later pass
// when what it runs after has not ended.
func (x *pipelineRun) consider(pctx, tctx context.Context, p *ptRun) {
	switch {
	case tctx.Err() != nil:
		reason := v1.TasksTimedOutSkip
		if pctx.Err() != nil {
			reason = v1.PipelineTimedOutSkip
		}
		x.skip(p, reason, nil)
		return
	case x.stopping:
		x.skip(p, v1.StoppingSkip, nil)
		return
	}
	ready, parentSkipped := x.dependencies(p)
	switch {
	case !ready:
		return
	case parentSkipped:
		x.skip(p, v1.ParentTasksSkip, nil)
		return
	}
	params, when, reason, err := x.r.resolvePipelineTask(p, x.plan.byName, x.params, nil)
	switch {
	case err != nil:
		x.err = err
		x.stopping = true
		x.skip(p, v1.StoppingSkip, nil)
	case reason != "":
		x.skip(p, reason, when)
	default:
		x.launch(tctx, p, params)
	}
}

// dependencies says whether every task p runs after has ended, and
// whether one of them was skipped in a way that skips p too.
func (x *pipelineRun) dependencies(p *ptRun) (ready, parentSkipped bool) {
	ready = true
	for _, d := range p.deps {
		dp := x.plan.byName[d]
		switch dp.state {
		case ptPending, ptRunning:
			ready = false
		case ptSkipped:
			// A task skipped by its when expressions does not skip
			// what runs after it (when is scoped to the task); any
			// other skip does.
			if dp.skip != v1.WhenExpressionsSkip {
				parentSkipped = true
			}
		}
	}
	return ready, parentSkipped
}

// runFinally runs the finally tasks after every DAG task, all at once,
// unless the pipeline timed out, and waits for them.
func (x *pipelineRun) runFinally(pctx context.Context, timeout *metav1.Duration) {
	var finals []*ptRun
	for _, p := range x.plan.order {
		if p.finally {
			finals = append(finals, p)
		}
	}
	if len(finals) == 0 {
		return
	}
	fs := x.r.now()
	x.pr.Status.FinallyStartTime = &fs
	statusRepl := taskStatusReplacements(x.plan.order)
	fctx, cancelF := withTimeoutCause(pctx, timeout, errFinallyTimeout)
	defer cancelF()
	for _, p := range finals {
		if pctx.Err() != nil {
			x.skip(p, v1.PipelineTimedOutSkip, nil)
			continue
		}
		params, when, reason, err := x.r.resolvePipelineTask(p, x.plan.byName, x.params, statusRepl)
		switch {
		case err != nil:
			x.err = errors.Join(x.err, err)
			x.skip(p, v1.MissingResultsSkip, nil)
		case reason != "":
			x.skip(p, reason, when)
		default:
			x.launch(fctx, p, params)
		}
	}
	for x.running > 0 {
		x.finish(<-x.events)
	}
}

// launch starts p's TaskRun; Chains signs what it built as soon as it
// ends, before any task after it starts.
func (x *pipelineRun) launch(ctx context.Context, p *ptRun, params v1.Params) {
	p.state = ptRunning
	in := x.r.taskInputFor(x.pr.Name, p, params, x.workspaces, ctx)
	x.r.progressf("%-24s started", p.pt.Name)
	x.running++
	go func() {
		tr := x.r.execute(ctx, in)
		var chainsErr error
		if succeeded(tr) {
			chainsErr = x.r.afterTaskRun(ctx, tr)
		}
		x.events <- taskDone{p, tr, chainsErr}
	}()
}

// finish records a TaskRun that ended; a failure stops the pipeline from
// starting more tasks.
func (x *pipelineRun) finish(d taskDone) {
	x.running--
	d.p.tr = d.tr
	x.run.TaskRuns = append(x.run.TaskRuns, d.tr)
	if succeeded(d.tr) {
		d.p.state = ptSucceeded
	} else {
		d.p.state = ptFailed
		x.stopping = true
	}
	x.r.progressf("%s", x.r.endLine(d.p.pt.Name, d.tr))
	if d.chains != nil {
		// Chains marks a TaskRun it could not sign with this
		// annotation; locally the run stops, since nothing after it
		// could verify.
		d.tr.Annotations["chains.tekton.dev/signed"] = "failed"
		x.err = errors.Join(x.err, fmt.Errorf("task %s: chains: %w", d.p.pt.Name, d.chains))
		x.stopping = true
		x.r.progressf("%-24s chains failed: %v", d.p.pt.Name, d.chains)
	}
	x.pr.Status.ChildReferences = append(x.pr.Status.ChildReferences, childReference(d.p.pt.Name, d.tr))
}

// skip records that p will not run, and why.
func (x *pipelineRun) skip(p *ptRun, reason v1.SkippingReason, when v1.WhenExpressions) {
	p.state = ptSkipped
	p.skip = reason
	p.when = when
	x.r.progressf("%-24s skipped: %s", p.pt.Name, reason)
}
