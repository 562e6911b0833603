package runner

import (
	"errors"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// pipelineRun is a PipelineRun in progress: the record it makes, the
// plan of its tasks and what the scheduler (schedule.go) knows of them.
type pipelineRun struct {
	r          *Runner
	pr         *v1.PipelineRun
	run        *Run
	plan       *plan
	params     replacements      // the pipeline's params and context
	workspaces map[string]string // the pipeline's workspaces → host directories
	events     chan taskDone
	running    int   // tasks started and not yet finished
	stopping   bool  // a task failed: start nothing more but finally
	err        error // why the pipeline itself failed (not a task)
}

// newPipelineRun is the PipelineRun object for p, as Tekton would create
// it, before anything runs.
func (r *Runner) newPipelineRun(p *v1.Pipeline, params v1.Params, workspaces map[string]string, refSource *v1.RefSource) *v1.PipelineRun {
	pr := &v1.PipelineRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name + "-run-" + randomSuffix(), Namespace: r.o.namespace, UID: typesUID(randomUID()),
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
	pr.Spec.Workspaces = workspaceBindings(workspaces, pr.Annotations)
	pr.Status.PipelineSpec = p.Spec.DeepCopy()
	if refSource != nil {
		pr.Status.Provenance = &v1.Provenance{RefSource: refSource}
	}
	return pr
}

// pipelineContext are the $(context.pipelineRun.*) and
// $(context.pipeline.name) variables.
func pipelineContext(pr *v1.PipelineRun) map[string]string {
	return map[string]string{
		"context.pipelineRun.name":      pr.Name,
		"context.pipeline.name":         pr.Spec.PipelineRef.Name,
		"context.pipelineRun.namespace": pr.Namespace,
		"context.pipelineRun.uid":       string(pr.UID),
	}
}

// startPipelineRun marks pr started; its tasks are then scheduled.
func (r *Runner) startPipelineRun(pr *v1.PipelineRun, tasks *plan, params replacements, workspaces map[string]string) *pipelineRun {
	start := r.now()
	pr.Status.StartTime = &start
	return &pipelineRun{
		r: r, pr: pr, run: &Run{PipelineRun: pr}, plan: tasks,
		params: params, workspaces: workspaces, events: make(chan taskDone),
	}
}

// taskCounts are how the pipeline's tasks ended.
type taskCounts struct{ succeeded, failed, skipped int }

// complete records how the PipelineRun ended: its completion time, a
// summary per task, the skipped tasks, its results and its Succeeded
// condition. The error says why it did not succeed.
func (x *pipelineRun) complete(where string, results []v1.PipelineResult, timedOut bool) error {
	pr := x.pr
	end := x.r.now()
	pr.Status.CompletionTime = &end
	var n taskCounts
	for _, p := range x.plan.order {
		s := summarize(p)
		switch p.state {
		case ptSucceeded:
			n.succeeded++
		case ptFailed:
			n.failed++
		case ptSkipped:
			n.skipped++
			pr.Status.SkippedTasks = append(pr.Status.SkippedTasks, v1.SkippedTask{Name: p.pt.Name, Reason: p.skip, WhenExpressions: p.when})
		}
		x.run.Tasks = append(x.run.Tasks, s)
	}
	pr.Status.Results = pipelineResults(results, x.plan.byName)
	cond, err := x.condition(where, end, n, timedOut)
	pr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{cond}}
	return err
}

// summarize is one pipeline task's line in the summary.
func summarize(p *ptRun) TaskSummary {
	s := TaskSummary{Name: p.pt.Name, Finally: p.finally, TaskRun: p.tr}
	switch p.state {
	case ptSucceeded:
		s.Status = "Succeeded"
	case ptFailed:
		s.Status = "Failed"
		if c := p.tr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
			s.Reason = c.Message
			if c.Reason == v1.TaskRunReasonTimedOut.String() {
				s.Status = "TimedOut"
			}
		}
	case ptSkipped:
		s.Status = "Skipped"
		s.Reason = string(p.skip)
	}
	if p.tr != nil && p.tr.Status.StartTime != nil && p.tr.Status.CompletionTime != nil {
		s.Duration = p.tr.Status.CompletionTime.Sub(p.tr.Status.StartTime.Time)
	}
	return s
}

// condition is the PipelineRun's Succeeded condition, with Tekton's
// reasons and message, and the error for a run that did not succeed.
func (x *pipelineRun) condition(where string, end metav1.Time, n taskCounts, timedOut bool) (apis.Condition, error) {
	msg := fmt.Sprintf("Tasks Completed: %d (Failed: %d, Cancelled 0), Skipped: %d", n.succeeded+n.failed, n.failed, n.skipped)
	cond := apis.Condition{Type: apis.ConditionSucceeded, LastTransitionTime: apis.VolatileTime{Inner: end}, Message: msg}
	var err error
	switch {
	case timedOut:
		cond.Status, cond.Reason = corev1.ConditionFalse, v1.PipelineRunReasonTimedOut.String()
		cond.Message = fmt.Sprintf("PipelineRun %q failed to finish within %q", x.pr.Name, x.pr.Spec.Timeouts.Pipeline.Duration)
		err = fmt.Errorf("%s: %s", where, cond.Message)
	case n.failed > 0 || x.err != nil:
		cond.Status, cond.Reason = corev1.ConditionFalse, v1.PipelineRunReasonFailed.String()
		err = pipelineFailure(where, x.plan.order, x.err)
		if x.err != nil {
			cond.Reason = v1.PipelineRunReasonInvalidTaskResultReference.String()
			cond.Message = x.err.Error()
		}
	case n.skipped > 0:
		cond.Status, cond.Reason = corev1.ConditionTrue, v1.PipelineRunReasonCompleted.String()
	default:
		cond.Status, cond.Reason = corev1.ConditionTrue, v1.PipelineRunReasonSuccessful.String()
	}
	return cond, err
}

// pipelineFailure is the error for a PipelineRun that failed: the
// pipeline's own error, then each failed task's.
func pipelineFailure(where string, order []*ptRun, pipelineErr error) error {
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

// childReference is how the PipelineRun's status names a TaskRun.
func childReference(pipelineTask string, tr *v1.TaskRun) v1.ChildStatusReference {
	return v1.ChildStatusReference{
		TypeMeta:         runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		Name:             tr.Name,
		PipelineTaskName: pipelineTask,
	}
}
