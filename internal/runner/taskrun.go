package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// execute runs a TaskRun to its end (with retries) and returns it with
// its status. It never returns nil.
func (r *Runner) execute(ctx context.Context, in *taskInput) *v1.TaskRun {
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
	names := make([]string, 0, len(in.workspaces))
	for n := range in.workspaces {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// A host directory has no Kubernetes volume type; emptyDir is the
		// closest, and the annotation says which directory it was.
		tr.Spec.Workspaces = append(tr.Spec.Workspaces, v1.WorkspaceBinding{Name: n, EmptyDir: &corev1.EmptyDirVolumeSource{}})
		tr.Annotations["trustline.dev/workspace."+n] = in.workspaces[n]
	}
	tr.Annotations[annotationWorkDir] = filepath.Join(r.o.workDir, in.name)
	tr.Status.TaskSpec = in.spec.DeepCopy()
	if in.refSource != nil {
		tr.Status.Provenance = &v1.Provenance{RefSource: in.refSource.DeepCopy()}
	}
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

func labelOr(in *taskInput) string {
	if in.pipelineTask != "" {
		return in.pipelineTask
	}
	return in.taskName
}

func (r *Runner) now() metav1.Time { return metav1.NewTime(r.o.now().UTC()) }

// attempt runs the steps once into fresh directories.
func (r *Runner) attempt(ctx context.Context, in *taskInput, tr *v1.TaskRun, attempt int) v1.TaskRunStatus {
	var st v1.TaskRunStatus
	fail := func(reason v1.TaskRunReason, format string, args ...any) v1.TaskRunStatus {
		st.Status = r.succeededCondition(corev1.ConditionFalse, reason, fmt.Sprintf(format, args...))
		return st
	}
	dirs, err := r.makeTaskDirs(in.name, attempt)
	if err != nil {
		return fail(v1.TaskRunReasonFailed, "%v", err)
	}
	steps, err := r.substitute(in, tr, attempt, dirs)
	if err != nil {
		return fail(v1.TaskRunReasonFailed, "%v", err)
	}
	runCtx := ctx
	if in.timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, in.timeout)
		defer cancel()
	}
	out, err := r.runSteps(runCtx, in, steps, dirs)
	st.Steps = out.states
	if err != nil {
		return fail(v1.TaskRunReasonFailed, "%v", err)
	}
	results, resErr := readResults(in.spec.Results, dirs.results)
	st.Results = results
	switch {
	case out.timedOut && ctx.Err() == nil:
		return fail(v1.TaskRunReasonTimedOut, "TaskRun %q failed to finish within %q", in.name, in.timeout.String())
	case out.timedOut || ctx.Err() != nil:
		return fail(v1.TaskRunReasonCancelled, "TaskRun %q was cancelled: %v", in.name, context.Cause(ctx))
	case out.failed != "":
		return fail(v1.TaskRunReasonFailed, "%s (log: %s)", out.failed, dirs.logs)
	case resErr != nil:
		return fail(v1.TaskRunReasonFailed, "%v", resErr)
	}
	st.Status = r.succeededCondition(corev1.ConditionTrue, v1.TaskRunReasonSuccessful, "All Steps have completed executing")
	return st
}

// succeededCondition is a TaskRun's Succeeded condition, as of now.
func (r *Runner) succeededCondition(status corev1.ConditionStatus, reason v1.TaskRunReason, message string) duckv1.Status {
	return duckv1.Status{Conditions: duckv1.Conditions{{
		Type: apis.ConditionSucceeded, Status: status,
		Reason: reason.String(), Message: message,
		LastTransitionTime: apis.VolatileTime{Inner: r.now()},
	}}}
}

// stepsOutcome is how a TaskRun's steps ended.
type stepsOutcome struct {
	states   []v1.StepState
	failed   string // the step that failed, in Tekton's words
	timedOut bool
}

// runSteps runs the steps in order; after a step fails (unless its
// onError is continue) or times out, the rest are skipped. An error means
// a step could not start; the states so far come with it.
func (r *Runner) runSteps(ctx context.Context, in *taskInput, steps []v1.Step, dirs taskDirs) (stepsOutcome, error) {
	var out stepsOutcome
	for i := range steps {
		s := &steps[i]
		state := v1.StepState{Name: s.Name, Container: "step-" + s.Name, ImageID: s.Image}
		if out.failed != "" || out.timedOut {
			state.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Skipped", Message: "a previous step failed"}
			state.TerminationReason = "Skipped"
			out.states = append(out.states, state)
			continue
		}
		started := r.now()
		code, reason, err := r.runStep(ctx, in, s, dirs)
		finished := r.now()
		if err != nil {
			return out, fmt.Errorf("step %q: %v", s.Name, err)
		}
		state.Terminated = &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: finished}
		state.TerminationReason = reason
		_ = os.WriteFile(filepath.Join(dirs.steps, "step-"+s.Name, "exitCode"), []byte(strconv.Itoa(code)), 0o644)
		out.states = append(out.states, state)
		switch {
		case reason == "TimeoutExceeded" && ctx.Err() != nil:
			out.timedOut = true
		case code != 0 && s.OnError != v1.Continue:
			out.failed = fmt.Sprintf("%q exited with code %d", "step-"+s.Name, code)
		}
	}
	return out, nil
}

// makeTaskDirs makes the directories of one attempt of a TaskRun, which
// stand for the pod's /tekton/results, /tekton/home, /workspace...
func (r *Runner) makeTaskDirs(name string, attempt int) (taskDirs, error) {
	base := filepath.Join(r.o.workDir, name)
	if attempt > 0 {
		base = filepath.Join(base, "retry-"+strconv.Itoa(attempt))
	}
	dirs := taskDirs{
		results: filepath.Join(base, "results"),
		home:    filepath.Join(base, "home"),
		logs:    filepath.Join(base, "logs"),
		steps:   filepath.Join(base, "steps"),
		work:    filepath.Join(base, "workspace"),
		volumes: filepath.Join(base, "volumes"),
	}
	for _, d := range []string{dirs.results, dirs.home, dirs.logs, dirs.steps, dirs.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return dirs, err
		}
	}
	return dirs, nil
}

// taskDirs are the directories of one attempt of a TaskRun.
type taskDirs struct{ results, home, logs, steps, work, volumes string }
