package runner

import (
	"context"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/substitution"
)

// ptState is where a pipeline task is in the run.
type ptState int

const (
	ptPending ptState = iota
	ptRunning
	ptSucceeded
	ptFailed
	ptSkipped
)

// ptRun is one pipeline task of a PipelineRun: its resolved Task, its
// state, and the TaskRun once it ran.
type ptRun struct {
	pt       v1.PipelineTask
	finally  bool
	resolved *ResolvedTask
	spec     *v1.TaskSpec
	state    ptState
	skip     v1.SkippingReason
	when     v1.WhenExpressions
	tr       *v1.TaskRun
	deps     []string // the tasks it runs after: runAfter and result references
}

// plan is a Pipeline's tasks, resolved and checked, in the Pipeline's
// order (tasks, then finally).
type plan struct {
	order  []*ptRun
	byName map[string]*ptRun
}

// planPipeline resolves every task of the Pipeline and checks it, so that
// nothing runs if any task cannot. repl holds the pipeline's params, which
// a taskRef may use.
func (r *Runner) planPipeline(ctx context.Context, where string, spec *v1.PipelineSpec, repl replacements) (*plan, error) {
	pl := &plan{byName: map[string]*ptRun{}}
	optional := map[string]bool{}
	for _, w := range spec.Workspaces {
		optional[w.Name] = w.Optional
	}
	for i, list := range [][]v1.PipelineTask{spec.Tasks, spec.Finally} {
		for _, pt := range list {
			ptr, err := r.planTask(ctx, fmt.Sprintf("%s: task %s", where, pt.Name), pt, i == 1, repl, optional)
			if err != nil {
				return nil, err
			}
			pl.order = append(pl.order, ptr)
			pl.byName[pt.Name] = ptr
		}
	}
	return pl, nil
}

// planTask finds the Task of one pipeline task (embedded, or through the
// task resolver), checks that it can run here, and lists what it waits
// for. optionalWorkspaces says which of the pipeline's workspaces are
// optional.
func (r *Runner) planTask(ctx context.Context, where string, pt v1.PipelineTask, finally bool, repl replacements, optionalWorkspaces map[string]bool) (*ptRun, error) {
	ptr := &ptRun{pt: *pt.DeepCopy(), finally: finally}
	if pt.TaskSpec != nil {
		ptr.spec = pt.TaskSpec.TaskSpec.DeepCopy()
		ptr.spec.SetDefaults(ctx)
	} else {
		if r.o.resolver == nil {
			return nil, fmt.Errorf("%s: taskRef needs a task resolver (give --tasks-dir, or use bundles)", where)
		}
		rt, err := r.o.resolver.ResolveTask(ctx, applyToRef(pt.TaskRef, repl))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		ptr.resolved = rt
		ptr.spec = rt.Task.Spec.DeepCopy()
	}
	if err := r.prepare(where, "taskSpec", ptr.spec); err != nil {
		return nil, err
	}
	if err := checkTaskWorkspaces(where, ptr.spec, &pt, optionalWorkspaces); err != nil {
		return nil, err
	}
	for _, ref := range v1.PipelineTaskResultRefs(&pt) {
		ptr.deps = appendUnique(ptr.deps, ref.PipelineTask)
	}
	for _, a := range pt.RunAfter {
		ptr.deps = appendUnique(ptr.deps, a)
	}
	return ptr, nil
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func applyToRef(ref *v1.TaskRef, r replacements) *v1.TaskRef {
	if ref == nil {
		return nil
	}
	out := ref.DeepCopy()
	out.Name = substitution.ApplyReplacements(out.Name, r.str)
	out.Params = out.Params.ReplaceVariables(r.str, r.arr, r.obj)
	return out
}
