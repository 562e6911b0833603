package runner

import (
	"context"
	"path/filepath"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// execute runs a TaskRun to its end (with retries) and returns it with
// its status. It never returns nil.
func (r *Runner) execute(ctx context.Context, in *taskInput) *v1.TaskRun {
	tr := r.newTaskRun(in)
	start := r.now()
	tr.Status.StartTime = &start
	tr.Status.PodName = in.name + "-pod"
	for attempt := 0; ; attempt++ {
		status := r.attempt(ctx, in, tr, attempt)
		tr.Status.Steps, tr.Status.Results = status.Steps, status.Results
		tr.Status.Status = status.Status
		if succeeded(tr) || attempt >= in.retries || ctx.Err() != nil {
			break
		}
		prev := tr.Status.DeepCopy()
		prev.RetriesStatus = nil
		prev.TaskSpec = nil
		tr.Status.RetriesStatus = append(tr.Status.RetriesStatus, *prev)
		r.progressf("%-24s retrying (%d of %d)", labelOr(in), attempt+1, in.retries)
	}
	end := r.now()
	tr.Status.CompletionTime = &end
	return tr
}

// newTaskRun is the TaskRun object for in, as Tekton would create it,
// before anything runs.
func (r *Runner) newTaskRun(in *taskInput) *v1.TaskRun {
	tr := &v1.TaskRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        in.name,
			Namespace:   r.o.namespace,
			UID:         typesUID(randomUID()),
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "trustline-run"},
			Annotations: map[string]string{},
		},
		Spec: v1.TaskRunSpec{
			Params:             in.params,
			ServiceAccountName: r.o.serviceAcct,
		},
	}
	for k, v := range in.labels {
		tr.Labels[k] = v
	}
	for k, v := range in.annotations {
		tr.Annotations[k] = v
	}
	if in.timeout > 0 {
		tr.Spec.Timeout = &metav1.Duration{Duration: in.timeout}
	}
	if in.embedded || in.ref == nil {
		tr.Spec.TaskSpec = in.spec.DeepCopy()
	} else {
		tr.Spec.TaskRef = in.ref.DeepCopy()
	}
	tr.Spec.Workspaces = workspaceBindings(in.workspaces, tr.Annotations)
	tr.Annotations[annotationWorkDir] = filepath.Join(r.o.workDir, in.name)
	tr.Status.TaskSpec = in.spec.DeepCopy()
	if in.refSource != nil {
		tr.Status.Provenance = &v1.Provenance{RefSource: in.refSource.DeepCopy()}
	}
	return tr
}

// labelOr names the task in progress lines: the pipeline task, or the
// Task.
func labelOr(in *taskInput) string {
	if in.pipelineTask != "" {
		return in.pipelineTask
	}
	return in.taskName
}

// succeededCondition is a TaskRun's Succeeded condition, as of now.
func (r *Runner) succeededCondition(status corev1.ConditionStatus, reason v1.TaskRunReason, message string) duckv1.Status {
	return duckv1.Status{Conditions: duckv1.Conditions{{
		Type: apis.ConditionSucceeded, Status: status,
		Reason: reason.String(), Message: message,
		LastTransitionTime: apis.VolatileTime{Inner: r.now()},
	}}}
}
