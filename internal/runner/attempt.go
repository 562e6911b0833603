package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
)

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
	if hasMemoryVolume(in.spec.Volumes) {
		defer unmountVolumes(dirs.volumes) //nolint:errcheck // a mount left behind costs memory, not the result
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
