package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/substitution"
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

type ptState int

const (
	ptPending ptState = iota
	ptRunning
	ptSucceeded
	ptFailed
	ptSkipped
)

type ptRun struct {
	pt       v1.PipelineTask
	finally  bool
	resolved *ResolvedTask
	spec     *v1.TaskSpec
	state    ptState
	skip     v1.SkippingReason
	when     v1.WhenExpressions
	tr       *v1.TaskRun
	deps     []string
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

// checkTaskWorkspaces refuses a pipeline task that leaves a required
// workspace of its Task unbound, before anything runs.
func checkTaskWorkspaces(where string, spec *v1.TaskSpec, pt *v1.PipelineTask) error {
	bound := map[string]bool{}
	for _, w := range pt.Workspaces {
		bound[w.Name] = true
	}
	for _, d := range spec.Workspaces {
		if !bound[d.Name] && !d.Optional {
			return fmt.Errorf("%s: the task's workspace %q is not bound (workspaces[].name)", where, d.Name)
		}
	}
	return nil
}

// resolvePipelineTask substitutes params, context and the results of
// finished tasks into a pipeline task, then evaluates its when
// expressions. A non-empty reason means skip it.
func (r *Runner) resolvePipelineTask(p *ptRun, byName map[string]*ptRun, prRepl replacements, statusRepl map[string]string) (v1.Params, v1.WhenExpressions, v1.SkippingReason, error) {
	repl := newReplacements()
	repl.merge(prRepl)
	for k, v := range statusRepl {
		repl.str[k] = v
	}
	repl.str["context.pipelineTask.retries"] = fmt.Sprint(p.pt.Retries)
	for _, ref := range v1.PipelineTaskResultRefs(&p.pt) {
		src := byName[ref.PipelineTask]
		if src == nil || src.state != ptSucceeded {
			return nil, nil, v1.MissingResultsSkip, nil
		}
		var val *v1.TaskRunResult
		for i := range src.tr.Status.Results {
			if src.tr.Status.Results[i].Name == ref.Result {
				val = &src.tr.Status.Results[i]
			}
		}
		if val == nil {
			if p.finally {
				return nil, nil, v1.MissingResultsSkip, nil
			}
			return nil, nil, "", fmt.Errorf("task %s: invalid result reference: task %s did not write result %q", p.pt.Name, ref.PipelineTask, ref.Result)
		}
		patterns := []string{
			"tasks." + ref.PipelineTask + ".results.%s",
			"tasks." + ref.PipelineTask + ".results[%q]",
			"tasks." + ref.PipelineTask + ".results['%s']",
		}
		repl.addValue(patterns, ref.Result, val.Value)
		// $(tasks.t.results.r[*]) names the whole array or object.
		switch val.Value.Type {
		case v1.ParamTypeArray:
			repl.arr["tasks."+ref.PipelineTask+".results."+ref.Result+"[*]"] = val.Value.ArrayVal
		case v1.ParamTypeObject:
			repl.obj["tasks."+ref.PipelineTask+".results."+ref.Result+"[*]"] = val.Value.ObjectVal
		}
	}
	params := p.pt.Params.ReplaceVariables(repl.str, repl.arr, repl.obj)
	// Whole-object params ($(params.obj[*]) or an object result) end up
	// as ObjectVal; whole arrays as ArrayVal.
	when := p.pt.When.ReplaceVariables(repl.str, repl.arr)
	for i, w := range when {
		if w.CEL != "" {
			return nil, nil, "", fmt.Errorf("task %s: when[%d].cel: not supported by the local runner", p.pt.Name, i)
		}
	}
	if !when.AllowsExecution(nil) {
		return nil, when, v1.WhenExpressionsSkip, nil
	}
	// Propagated params: an embedded taskSpec may use the pipeline's
	// params directly (Tekton's propagation), unless it declares its own.
	if p.pt.TaskSpec != nil {
		own := map[string]bool{}
		for _, ps := range p.spec.Params {
			own[ps.Name] = true
		}
		for _, pp := range params {
			own[pp.Name] = true
		}
		for _, ps := range prRepl.paramsNotIn(own) {
			p.spec.Params = append(p.spec.Params, ps.spec)
			params = append(params, ps.param)
		}
	}
	return params, when, "", nil
}

type propagated struct {
	spec  v1.ParamSpec
	param v1.Param
}

// paramsNotIn lists pipeline params (from prRepl) not named in own, as
// declarations with values, for propagation into embedded tasks.
func (r replacements) paramsNotIn(own map[string]bool) []propagated {
	var out []propagated
	var names []string
	for k := range r.str {
		if strings.HasPrefix(k, "params.") && !strings.ContainsAny(k[len("params."):], ".[") {
			names = append(names, k[len("params."):])
		}
	}
	for k := range r.arr {
		if strings.HasPrefix(k, "params.") && !strings.ContainsAny(k[len("params."):], ".[") {
			names = append(names, k[len("params."):])
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if own[n] {
			continue
		}
		if a, ok := r.arr["params."+n]; ok {
			out = append(out, propagated{v1.ParamSpec{Name: n, Type: v1.ParamTypeArray}, v1.Param{Name: n, Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: a}}})
			continue
		}
		out = append(out, propagated{v1.ParamSpec{Name: n, Type: v1.ParamTypeString}, v1.Param{Name: n, Value: v1.ParamValue{Type: v1.ParamTypeString, StringVal: r.str["params."+n]}}})
	}
	return out
}

// taskStatusReplacements are $(tasks.<t>.status) and $(tasks.status),
// which finally tasks may read.
func taskStatusReplacements(order []*ptRun) map[string]string {
	out := map[string]string{}
	anyFailed, anySkipped := false, false
	for _, p := range order {
		if p.finally {
			continue
		}
		s := "None"
		switch p.state {
		case ptSucceeded:
			s = "Succeeded"
		case ptFailed:
			s = "Failed"
			anyFailed = true
		case ptSkipped:
			anySkipped = true
		}
		out["tasks."+p.pt.Name+".status"] = s
		if p.tr != nil {
			if c := p.tr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
				out["tasks."+p.pt.Name+".reason"] = c.Reason
			}
		}
	}
	switch {
	case anyFailed:
		out["tasks.status"] = "Failed"
	case anySkipped:
		out["tasks.status"] = "Completed"
	default:
		out["tasks.status"] = "Succeeded"
	}
	return out
}

func (r *Runner) taskInputFor(prName string, p *ptRun, params v1.Params, pws map[string]string, ctx context.Context) *taskInput {
	in := &taskInput{
		name:         prName + "-" + p.pt.Name,
		pipelineTask: p.pt.Name,
		where:        "task " + p.pt.Name,
		spec:         p.spec,
		params:       params,
		workspaces:   map[string]string{},
		retries:      p.pt.Retries,
		labels: map[string]string{
			"tekton.dev/pipelineRun":  prName,
			"tekton.dev/pipelineTask": p.pt.Name,
			"tekton.dev/memberOf":     map[bool]string{true: "finally", false: "tasks"}[p.finally],
		},
	}
	if pn := strings.TrimSuffix(prName, prName[strings.LastIndex(prName, "-run-"):]); pn != "" {
		in.labels["tekton.dev/pipeline"] = pn
	}
	if p.resolved != nil {
		in.taskName = p.resolved.Task.Name
		in.labels["tekton.dev/task"] = p.resolved.Task.Name
		in.ref = p.pt.TaskRef.DeepCopy()
		in.refSource = p.resolved.RefSource
		in.annotations = map[string]string{"trustline.dev/resolved-from": p.resolved.From}
	} else {
		in.embedded = true
	}
	for _, w := range p.pt.Workspaces {
		dir, ok := pws[w.Workspace]
		if !ok {
			continue // an optional pipeline workspace left unbound
		}
		if w.SubPath != "" {
			dir = filepath.Join(dir, w.SubPath)
			_ = os.MkdirAll(dir, 0o755)
		}
		in.workspaces[w.Name] = dir
	}
	switch {
	case p.pt.Timeout != nil && p.pt.Timeout.Duration > 0:
		in.timeout = p.pt.Timeout.Duration
	default:
		if dl, ok := ctx.Deadline(); ok {
			in.timeout = time.Until(dl).Round(time.Second)
		}
	}
	return in
}

// pipelineResults computes the pipeline's results from its tasks'
// results; a result that refers to a task result that is missing is left
// out, as Tekton does.
func pipelineResults(decls []v1.PipelineResult, byName map[string]*ptRun) []v1.PipelineRunResult {
	var out []v1.PipelineRunResult
	for _, d := range decls {
		exprs, _ := d.GetVarSubstitutionExpressions()
		repl := newReplacements()
		ok := true
		for _, ref := range v1.NewResultRefs(exprs) {
			src := byName[ref.PipelineTask]
			if src == nil || src.state != ptSucceeded {
				ok = false
				break
			}
			found := false
			for _, res := range src.tr.Status.Results {
				if res.Name == ref.Result {
					found = true
					repl.addValue([]string{"tasks." + ref.PipelineTask + ".results.%s"}, res.Name, res.Value)
					switch res.Value.Type {
					case v1.ParamTypeArray:
						repl.arr["tasks."+ref.PipelineTask+".results."+res.Name+"[*]"] = res.Value.ArrayVal
					case v1.ParamTypeObject:
						repl.obj["tasks."+ref.PipelineTask+".results."+res.Name+"[*]"] = res.Value.ObjectVal
					}
				}
			}
			if !found {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		v := d.Value
		var val v1.ResultValue
		switch v.Type {
		case v1.ParamTypeArray:
			var items []string
			for _, item := range v.ArrayVal {
				items = append(items, substitution.ApplyArrayReplacements(item, repl.str, stripStar(repl.arr))...)
			}
			val = v1.ResultValue{Type: v1.ParamTypeArray, ArrayVal: items}
		case v1.ParamTypeObject:
			obj := map[string]string{}
			for k, item := range v.ObjectVal {
				obj[k] = substitution.ApplyReplacements(item, repl.str)
			}
			val = v1.ResultValue{Type: v1.ParamTypeObject, ObjectVal: obj}
		default:
			s := strings.TrimSpace(v.StringVal)
			if strings.HasSuffix(s, "[*])") && strings.HasPrefix(s, "$(") {
				key := strings.TrimSuffix(strings.TrimPrefix(s, "$("), ")")
				if a, ok := repl.arr[key]; ok {
					val = v1.ResultValue{Type: v1.ParamTypeArray, ArrayVal: a}
					break
				}
				if o, ok := repl.obj[key]; ok {
					val = v1.ResultValue{Type: v1.ParamTypeObject, ObjectVal: o}
					break
				}
			}
			val = v1.ResultValue{Type: v1.ParamTypeString, StringVal: substitution.ApplyReplacements(v.StringVal, repl.str)}
		}
		out = append(out, v1.PipelineRunResult{Name: d.Name, Value: val})
	}
	return out
}

func stripStar(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		out[k] = v
		out[strings.TrimSuffix(k, "[*]")] = v
	}
	return out
}
