package runner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
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
	prRepl, _, err := paramReplacements(where, p.Spec.Params, params)
	if err != nil {
		return nil, err
	}
	for _, w := range p.Spec.Workspaces {
		if _, ok := workspaces[w.Name]; !ok && !w.Optional {
			return nil, fmt.Errorf("%s: workspace %q not bound (bind with --workspace %s=DIR)", where, w.Name, w.Name)
		}
	}
	for n := range workspaces {
		found := false
		for _, w := range p.Spec.Workspaces {
			found = found || w.Name == n
		}
		if !found {
			return nil, fmt.Errorf("%s: --workspace %s: the pipeline declares no such workspace", where, n)
		}
	}

	prName := p.Name + "-run-" + randomSuffix()
	pr := &v1.PipelineRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name: prName, Namespace: r.o.namespace, UID: typesUID(randomUID()),
			Labels:      map[string]string{"tekton.dev/pipeline": p.Name, "app.kubernetes.io/managed-by": "trustline-run"},
			Annotations: map[string]string{},
		},
		Spec: v1.PipelineRunSpec{
			PipelineRef:     &v1.PipelineRef{Name: p.Name},
			Params:          params,
			TaskRunTemplate: v1.PipelineTaskRunTemplate{ServiceAccountName: r.o.serviceAcct},
		},
	}
	timeouts := &v1.TimeoutFields{}
	if r.o.timeout > 0 {
		timeouts.Pipeline = &metav1.Duration{Duration: r.o.timeout}
	}
	pr.Spec.Timeouts = timeouts
	wsNames := make([]string, 0, len(workspaces))
	for n := range workspaces {
		wsNames = append(wsNames, n)
	}
	sort.Strings(wsNames)
	for _, n := range wsNames {
		pr.Spec.Workspaces = append(pr.Spec.Workspaces, v1.WorkspaceBinding{Name: n, EmptyDir: &corev1.EmptyDirVolumeSource{}})
		pr.Annotations["trustline.dev/workspace."+n] = workspaces[n]
	}
	pr.Status.PipelineSpec = p.Spec.DeepCopy()
	if in.refSource != nil {
		pr.Status.Provenance = &v1.Provenance{RefSource: in.refSource}
	}

	// Context and pipeline params, as Tekton applies them before anything
	// runs.
	for k, v := range map[string]string{
		"context.pipelineRun.name":      prName,
		"context.pipeline.name":         p.Name,
		"context.pipelineRun.namespace": r.o.namespace,
		"context.pipelineRun.uid":       string(pr.UID),
	} {
		prRepl.str[k] = v
	}

	// Resolve and check every task first: nothing runs if any cannot.
	var order []*ptRun
	byName := map[string]*ptRun{}
	for i, list := range [][]v1.PipelineTask{p.Spec.Tasks, p.Spec.Finally} {
		for _, pt := range list {
			ptr := &ptRun{pt: *pt.DeepCopy(), finally: i == 1}
			twhere := fmt.Sprintf("%s: task %s", where, pt.Name)
			if pt.TaskSpec != nil {
				ptr.spec = pt.TaskSpec.TaskSpec.DeepCopy()
				ptr.spec.SetDefaults(ctx)
			} else {
				if r.o.resolver == nil {
					return nil, fmt.Errorf("%s: taskRef needs a task resolver (give --tasks-dir, or use bundles)", twhere)
				}
				rt, err := r.o.resolver.ResolveTask(ctx, applyToRef(pt.TaskRef, prRepl))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", twhere, err)
				}
				ptr.resolved = rt
				ptr.spec = rt.Task.Spec.DeepCopy()
			}
			if err := r.prepare(twhere, "taskSpec", ptr.spec); err != nil {
				return nil, err
			}
			if err := checkTaskWorkspaces(twhere, ptr.spec, &pt); err != nil {
				return nil, err
			}
			for _, ref := range v1.PipelineTaskResultRefs(&pt) {
				ptr.deps = appendUnique(ptr.deps, ref.PipelineTask)
			}
			for _, a := range pt.RunAfter {
				ptr.deps = appendUnique(ptr.deps, a)
			}
			order = append(order, ptr)
			byName[pt.Name] = ptr
		}
	}

	start := r.now()
	pr.Status.StartTime = &start
	run := &Run{PipelineRun: pr}

	pctx := ctx
	var cancelP context.CancelFunc = func() {}
	if timeouts.Pipeline != nil && timeouts.Pipeline.Duration > 0 {
		pctx, cancelP = context.WithTimeoutCause(ctx, timeouts.Pipeline.Duration, errPipelineTimeout)
	}
	defer cancelP()
	tctx := pctx
	var cancelT context.CancelFunc = func() {}
	if timeouts.Tasks != nil && timeouts.Tasks.Duration > 0 {
		tctx, cancelT = context.WithTimeoutCause(pctx, timeouts.Tasks.Duration, errTasksTimeout)
	}
	defer cancelT()

	type done struct {
		p      *ptRun
		tr     *v1.TaskRun
		chains error
	}
	events := make(chan done)
	running := 0
	stopping := false
	var pipelineErr error
	launch := func(ctx context.Context, p *ptRun, params v1.Params) {
		p.state = ptRunning
		in := r.taskInputFor(prName, p, params, workspaces, ctx)
		r.progressf("%-24s started", p.pt.Name)
		running++
		go func() {
			tr := r.execute(ctx, in)
			var chainsErr error
			if succeeded(tr) {
				chainsErr = r.afterTaskRun(ctx, tr)
			}
			events <- done{p, tr, chainsErr}
		}()
	}
	finish := func(d done) {
		running--
		d.p.tr = d.tr
		run.TaskRuns = append(run.TaskRuns, d.tr)
		if succeeded(d.tr) {
			d.p.state = ptSucceeded
		} else {
			d.p.state = ptFailed
			stopping = true
		}
		r.progressf("%s", r.endLine(d.p.pt.Name, d.tr))
		if d.chains != nil {
			// Chains marks a TaskRun it could not sign with this
			// annotation; locally the run stops, since nothing after it
			// could verify.
			d.tr.Annotations["chains.tekton.dev/signed"] = "failed"
			pipelineErr = errors.Join(pipelineErr, fmt.Errorf("task %s: chains: %w", d.p.pt.Name, d.chains))
			stopping = true
			r.progressf("%-24s chains failed: %v", d.p.pt.Name, d.chains)
		}
		pr.Status.ChildReferences = append(pr.Status.ChildReferences, v1.ChildStatusReference{
			TypeMeta:         runtimeTypeMeta(),
			Name:             d.tr.Name,
			PipelineTaskName: d.p.pt.Name,
		})
	}
	skip := func(p *ptRun, reason v1.SkippingReason, when v1.WhenExpressions) {
		p.state = ptSkipped
		p.skip = reason
		p.when = when
		r.progressf("%-24s skipped: %s", p.pt.Name, reason)
	}

	// The DAG.
	for {
		for _, p := range order {
			if p.finally || p.state != ptPending {
				continue
			}
			if tctx.Err() != nil {
				reason := v1.TasksTimedOutSkip
				if pctx.Err() != nil {
					reason = v1.PipelineTimedOutSkip
				}
				skip(p, reason, nil)
				continue
			}
			if stopping {
				skip(p, v1.StoppingSkip, nil)
				continue
			}
			ready, parentSkipped := true, false
			for _, d := range p.deps {
				dp := byName[d]
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
			if !ready {
				continue
			}
			if parentSkipped {
				skip(p, v1.ParentTasksSkip, nil)
				continue
			}
			params, when, reason, err := r.resolvePipelineTask(p, byName, prRepl, nil)
			if err != nil {
				pipelineErr = err
				stopping = true
				skip(p, v1.StoppingSkip, nil)
				continue
			}
			if reason != "" {
				skip(p, reason, when)
				continue
			}
			launch(tctx, p, params)
		}
		if running == 0 {
			break
		}
		finish(<-events)
	}

	// Finally: after every DAG task, all at once, unless the pipeline
	// timed out.
	var finals []*ptRun
	for _, p := range order {
		if p.finally {
			finals = append(finals, p)
		}
	}
	if len(finals) > 0 {
		fs := r.now()
		pr.Status.FinallyStartTime = &fs
		statusRepl := taskStatusReplacements(order)
		fctx := pctx
		var cancelF context.CancelFunc = func() {}
		if timeouts.Finally != nil && timeouts.Finally.Duration > 0 {
			fctx, cancelF = context.WithTimeoutCause(pctx, timeouts.Finally.Duration, errFinallyTimeout)
		}
		for _, p := range finals {
			if pctx.Err() != nil {
				skip(p, v1.PipelineTimedOutSkip, nil)
				continue
			}
			params, when, reason, err := r.resolvePipelineTask(p, byName, prRepl, statusRepl)
			if err != nil {
				pipelineErr = errors.Join(pipelineErr, err)
				skip(p, v1.MissingResultsSkip, nil)
				continue
			}
			if reason != "" {
				skip(p, reason, when)
				continue
			}
			launch(fctx, p, params)
		}
		for running > 0 {
			finish(<-events)
		}
		cancelF()
	}

	// Status.
	end := r.now()
	pr.Status.CompletionTime = &end
	var failed, skipped, succeededN int
	for _, p := range order {
		s := TaskSummary{Name: p.pt.Name, Finally: p.finally, TaskRun: p.tr}
		switch p.state {
		case ptSucceeded:
			succeededN++
			s.Status = "Succeeded"
		case ptFailed:
			failed++
			s.Status = "Failed"
			if c := p.tr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
				s.Reason = c.Message
				if c.Reason == v1.TaskRunReasonTimedOut.String() {
					s.Status = "TimedOut"
				}
			}
		case ptSkipped:
			skipped++
			s.Status = "Skipped"
			s.Reason = string(p.skip)
			pr.Status.SkippedTasks = append(pr.Status.SkippedTasks, v1.SkippedTask{Name: p.pt.Name, Reason: p.skip, WhenExpressions: p.when})
		}
		if p.tr != nil && p.tr.Status.StartTime != nil && p.tr.Status.CompletionTime != nil {
			s.Duration = p.tr.Status.CompletionTime.Sub(p.tr.Status.StartTime.Time)
		}
		run.Tasks = append(run.Tasks, s)
	}
	pr.Status.Results = pipelineResults(p.Spec.Results, byName)
	msg := fmt.Sprintf("Tasks Completed: %d (Failed: %d, Cancelled 0), Skipped: %d", succeededN+failed, failed, skipped)
	cond := apis.Condition{Type: apis.ConditionSucceeded, LastTransitionTime: apis.VolatileTime{Inner: end}, Message: msg}
	err = nil
	switch {
	case errors.Is(context.Cause(pctx), errPipelineTimeout):
		cond.Status, cond.Reason = corev1.ConditionFalse, v1.PipelineRunReasonTimedOut.String()
		cond.Message = fmt.Sprintf("PipelineRun %q failed to finish within %q", prName, timeouts.Pipeline.Duration)
		err = fmt.Errorf("%s: %s", where, cond.Message)
	case failed > 0 || pipelineErr != nil:
		cond.Status, cond.Reason = corev1.ConditionFalse, v1.PipelineRunReasonFailed.String()
		err = r.pipelineFailure(where, order, pipelineErr)
		if pipelineErr != nil {
			cond.Reason = v1.PipelineRunReasonInvalidTaskResultReference.String()
			cond.Message = pipelineErr.Error()
		}
	case skipped > 0:
		cond.Status, cond.Reason = corev1.ConditionTrue, v1.PipelineRunReasonCompleted.String()
	default:
		cond.Status, cond.Reason = corev1.ConditionTrue, v1.PipelineRunReasonSuccessful.String()
	}
	pr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{cond}}
	if cerr := r.afterPipelineRun(ctx, run); cerr != nil {
		pr.Annotations["chains.tekton.dev/signed"] = "failed"
		err = errors.Join(err, fmt.Errorf("%s: chains: %w", where, cerr))
	}
	return run, err
}

var (
	errPipelineTimeout = errors.New("PipelineRun timeout has been reached")
	errTasksTimeout    = errors.New("PipelineRun tasks timeout has been reached")
	errFinallyTimeout  = errors.New("PipelineRun finally timeout has been reached")
)
