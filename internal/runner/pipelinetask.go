package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"
)

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
		res, ran := resultOf(byName, ref)
		if !ran {
			return nil, nil, v1.MissingResultsSkip, nil
		}
		if res == nil {
			if p.finally {
				return nil, nil, v1.MissingResultsSkip, nil
			}
			return nil, nil, "", fmt.Errorf("task %s: invalid result reference: task %s did not write result %q", p.pt.Name, ref.PipelineTask, ref.Result)
		}
		repl.addResult(ref.PipelineTask, resultPatterns, *res)
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
