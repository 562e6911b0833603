package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/substitution"
)

// resultValue parses a result file's content by the declared type.
func resultValue(typ v1.ResultsType, raw string) (v1.ResultValue, error) {
	switch typ {
	case v1.ResultsTypeArray:
		var a []string
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return v1.ResultValue{}, fmt.Errorf("array result is not a JSON array of strings: %w", err)
		}
		return v1.ResultValue{Type: v1.ParamTypeArray, ArrayVal: a}, nil
	case v1.ResultsTypeObject:
		var o map[string]string
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return v1.ResultValue{}, fmt.Errorf("object result is not a JSON object of strings: %w", err)
		}
		return v1.ResultValue{Type: v1.ParamTypeObject, ObjectVal: o}, nil
	default:
		return v1.ResultValue{Type: v1.ParamTypeString, StringVal: raw}, nil
	}
}

// resultOf finds the result ref names among the results of the task it
// names. ran is false when that task did not succeed; res is nil when it
// did and did not write the result.
func resultOf(byName map[string]*ptRun, ref *v1.ResultRef) (res *v1.TaskRunResult, ran bool) {
	src := byName[ref.PipelineTask]
	if src == nil || src.state != ptSucceeded {
		return nil, false
	}
	for i := range src.tr.Status.Results {
		if src.tr.Status.Results[i].Name == ref.Result {
			res = &src.tr.Status.Results[i]
		}
	}
	return res, true
}

// The spellings Tekton accepts for a result reference, after
// "tasks.<task>.".
var resultPatterns = []string{"results.%s", "results[%q]", "results['%s']"}

// addResult records a task's result under patterns, and
// $(tasks.<task>.results.<name>[*]) for a whole array or object.
func (r replacements) addResult(task string, patterns []string, res v1.TaskRunResult) {
	prefixed := make([]string, len(patterns))
	for i, p := range patterns {
		prefixed[i] = "tasks." + task + "." + p
	}
	r.addValue(prefixed, res.Name, res.Value)
	whole := "tasks." + task + ".results." + res.Name + "[*]"
	switch res.Value.Type {
	case v1.ParamTypeArray:
		r.arr[whole] = res.Value.ArrayVal
	case v1.ParamTypeObject:
		r.obj[whole] = res.Value.ObjectVal
	}
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
			res, _ := resultOf(byName, ref)
			if res == nil {
				ok = false
				break
			}
			// Pipeline results are substituted with the dotted spelling
			// only.
			repl.addResult(ref.PipelineTask, resultPatterns[:1], *res)
		}
		if !ok {
			continue
		}
		out = append(out, v1.PipelineRunResult{Name: d.Name, Value: pipelineResultValue(d.Value, repl)})
	}
	return out
}

// pipelineResultValue substitutes the tasks' results into a pipeline
// result's value; a string that is only $(tasks.t.results.r[*]) takes the
// whole array or object.
func pipelineResultValue(v v1.ParamValue, repl replacements) v1.ResultValue {
	switch v.Type {
	case v1.ParamTypeArray:
		var items []string
		for _, item := range v.ArrayVal {
			items = append(items, substitution.ApplyArrayReplacements(item, repl.str, stripStar(repl.arr))...)
		}
		return v1.ResultValue{Type: v1.ParamTypeArray, ArrayVal: items}
	case v1.ParamTypeObject:
		obj := map[string]string{}
		for k, item := range v.ObjectVal {
			obj[k] = substitution.ApplyReplacements(item, repl.str)
		}
		return v1.ResultValue{Type: v1.ParamTypeObject, ObjectVal: obj}
	}
	s := strings.TrimSpace(v.StringVal)
	if strings.HasSuffix(s, "[*])") && strings.HasPrefix(s, "$(") {
		key := strings.TrimSuffix(strings.TrimPrefix(s, "$("), ")")
		if a, ok := repl.arr[key]; ok {
			return v1.ResultValue{Type: v1.ParamTypeArray, ArrayVal: a}
		}
		if o, ok := repl.obj[key]; ok {
			return v1.ResultValue{Type: v1.ParamTypeObject, ObjectVal: o}
		}
	}
	return v1.ResultValue{Type: v1.ParamTypeString, StringVal: substitution.ApplyReplacements(v.StringVal, repl.str)}
}

func stripStar(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		out[k] = v
		out[strings.TrimSuffix(k, "[*]")] = v
	}
	return out
}

// readResults reads the declared results the steps wrote. A result not
// written is left out, as Tekton does; one that does not parse as its
// declared type is an error.
func readResults(decls []v1.TaskResult, dir string) ([]v1.TaskRunResult, error) {
	var out []v1.TaskRunResult
	var errs []error
	for _, d := range decls {
		b, err := os.ReadFile(filepath.Join(dir, d.Name))
		if err != nil {
			continue
		}
		v, err := resultValue(d.Type, string(b))
		if err != nil {
			errs = append(errs, fmt.Errorf("result %s: %w", d.Name, err))
			continue
		}
		typ := d.Type
		if typ == "" {
			typ = v1.ResultsTypeString
		}
		out = append(out, v1.TaskRunResult{Name: d.Name, Type: typ, Value: v})
	}
	return out, errors.Join(errs...)
}
