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
