package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"
)

// ErrTaskFailed is returned (wrapped) when a task of the run failed.
var ErrTaskFailed = errors.New("task failed")

// taskInput is what one TaskRun is made of.
type taskInput struct {
	name         string // TaskRun name
	taskName     string // the Task's name, "" when embedded
	pipelineTask string
	where        string
	spec         *v1.TaskSpec
	ref          *v1.TaskRef
	refSource    *v1.RefSource
	embedded     bool
	params       v1.Params
	workspaces   map[string]string // declared name → host directory
	timeout      time.Duration
	retries      int
	labels       map[string]string
	annotations  map[string]string
}

// TaskOption sets a property of a standalone TaskRun.
type TaskOption func(*taskInput)

// TaskRefSource records where the Task came from (its bundle), as
// Tekton's status.provenance.refSource.
func TaskRefSource(ref *v1.TaskRef, src *v1.RefSource) TaskOption {
	return func(in *taskInput) { in.ref, in.refSource = ref, src }
}

// RunTask runs one Task as a TaskRun and returns it with its status. A
// failed TaskRun is returned with an error wrapping ErrTaskFailed; a Task
// the runner cannot run is refused before anything runs.
func (r *Runner) RunTask(ctx context.Context, task *v1.Task, params v1.Params, workspaces map[string]string, opts ...TaskOption) (*v1.TaskRun, error) {
	where := "Task " + task.Name
	if err := r.prepare(where, "spec", &task.Spec); err != nil {
		return nil, err
	}
	in := &taskInput{
		name:       task.Name + "-run-" + randomSuffix(),
		taskName:   task.Name,
		where:      where,
		spec:       &task.Spec,
		ref:        &v1.TaskRef{Name: task.Name, Kind: v1.NamespacedTaskKind},
		params:     params,
		workspaces: workspaces,
		timeout:    r.o.timeout,
		labels:     map[string]string{"tekton.dev/task": task.Name},
	}
	for _, o := range opts {
		o(in)
	}
	if err := checkWorkspaces(where, task.Spec.Workspaces, workspaces); err != nil {
		return nil, err
	}
	if _, _, err := paramReplacements(where, task.Spec.Params, params); err != nil {
		return nil, err
	}
	r.progressf("%-24s started", task.Name)
	tr := r.execute(ctx, in)
	r.progressf("%s", r.endLine(task.Name, tr))
	if err := r.afterTaskRun(ctx, tr); err != nil {
		return tr, err
	}
	if !succeeded(tr) {
		return tr, taskFailure(tr)
	}
	return tr, nil
}

// TaskFailure is the error for a TaskRun that did not succeed.
type TaskFailure struct {
	TaskRun string
	Reason  string
	Message string
	// ExitCode is the first failing step's exit code (-1 when none ran).
	ExitCode int
}

func (e *TaskFailure) Error() string {
	return fmt.Sprintf("TaskRun %s %s: %s", e.TaskRun, e.Reason, e.Message)
}

func (e *TaskFailure) Unwrap() error { return ErrTaskFailed }

func taskFailure(tr *v1.TaskRun) error {
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	f := &TaskFailure{TaskRun: tr.Name, ExitCode: -1}
	if c != nil {
		f.Reason, f.Message = c.Reason, c.Message
	}
	for _, s := range tr.Status.Steps {
		if s.Terminated != nil && s.Terminated.ExitCode != 0 {
			f.ExitCode = int(s.Terminated.ExitCode)
			break
		}
	}
	return f
}

func succeeded(tr *v1.TaskRun) bool {
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	return c != nil && c.IsTrue()
}
