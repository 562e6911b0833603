package runner

import (
	"fmt"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/substitution"
)

// replacements holds Tekton's three kinds of variable substitution.
type replacements struct {
	str map[string]string
	arr map[string][]string
	obj map[string]map[string]string
}

func newReplacements() replacements {
	return replacements{str: map[string]string{}, arr: map[string][]string{}, obj: map[string]map[string]string{}}
}

func (r replacements) merge(o replacements) {
	for k, v := range o.str {
		r.str[k] = v
	}
	for k, v := range o.arr {
		r.arr[k] = v
	}
	for k, v := range o.obj {
		r.obj[k] = v
	}
}

// The spellings Tekton accepts for a parameter reference.
var paramPatterns = []string{"params.%s", "params[%q]", "params['%s']"}

// addValue records the replacements for one named value (a param, or a
// result under prefix "tasks.t.results") following Tekton's
// reconciler: whole value, array items by index, object keys.
func (r replacements) addValue(patterns []string, name string, v v1.ParamValue) {
	switch v.Type {
	case v1.ParamTypeArray:
		for _, p := range patterns {
			for i, item := range v.ArrayVal {
				r.str[fmt.Sprintf(p+"[%d]", name, i)] = item
			}
			r.arr[fmt.Sprintf(p, name)] = v.ArrayVal
		}
	case v1.ParamTypeObject:
		for _, p := range patterns {
			r.obj[fmt.Sprintf(p, name)] = v.ObjectVal
		}
		for k, item := range v.ObjectVal {
			r.str[fmt.Sprintf(patterns[0]+".%s", name, k)] = item
		}
	default:
		for _, p := range patterns {
			r.str[fmt.Sprintf(p, name)] = v.StringVal
		}
	}
}

// paramReplacements resolves declared params against given ones: the
// defaults first (a default may refer to another param, as Tekton
// allows), then the values given. A required param that is missing, a
// value of the wrong type or a missing object key is an error.
func paramReplacements(where string, specs v1.ParamSpecs, given v1.Params) (replacements, v1.Params, error) {
	return paramReplacementsDefaults(where, specs, given, nil)
}

// paramReplacementsDefaults is paramReplacements with defaultVars (context,
// workspace and result variables) substituted into string defaults, and
// only into defaults: a given value is never expanded.
func paramReplacementsDefaults(where string, specs v1.ParamSpecs, given v1.Params, defaultVars map[string]string) (replacements, v1.Params, error) {
	r := newReplacements()
	byName := map[string]v1.Param{}
	for _, p := range given {
		byName[p.Name] = p
	}
	var effective v1.Params
	var missing []string
	fromDefault := map[string]bool{}
	for _, s := range specs {
		p, ok := byName[s.Name]
		if !ok {
			if s.Default == nil {
				missing = append(missing, s.Name)
				continue
			}
			p = v1.Param{Name: s.Name, Value: *s.Default.DeepCopy()}
			fromDefault[s.Name] = true
			if p.Value.Type == v1.ParamTypeString && len(defaultVars) > 0 {
				p.Value.StringVal = substitution.ApplyReplacements(p.Value.StringVal, defaultVars)
			}
		}
		want := s.Type
		if want == "" {
			want = v1.ParamTypeString
		}
		if p.Value.Type != want {
			return r, nil, fmt.Errorf("%s: param %s: got a %s value, the declaration wants %s", where, s.Name, p.Value.Type, want)
		}
		if want == v1.ParamTypeObject {
			// Keys without a value take the default's (Tekton merges them).
			if s.Default != nil {
				merged := map[string]string{}
				for k, v := range s.Default.ObjectVal {
					merged[k] = v
				}
				for k, v := range p.Value.ObjectVal {
					merged[k] = v
				}
				p.Value.ObjectVal = merged
			}
			for key := range s.Properties {
				if _, ok := p.Value.ObjectVal[key]; !ok {
					return r, nil, fmt.Errorf("%s: param %s: object key %q missing", where, s.Name, key)
				}
			}
		}
		effective = append(effective, p)
	}
	if len(missing) > 0 {
		return r, nil, fmt.Errorf("%s: required param(s) without a value: %s (give them with --param name=value)", where, strings.Join(missing, ", "))
	}
	// First the values that do not refer to other params, then the ones
	// that do (only string defaults may, as in Tekton: a given value is
	// passed as it is, in one pass).
	var deferred []v1.Param
	for _, p := range effective {
		if fromDefault[p.Name] && p.Value.Type == v1.ParamTypeString && strings.Contains(p.Value.StringVal, "$(params.") {
			deferred = append(deferred, p)
			continue
		}
		r.addValue(paramPatterns, p.Name, p.Value)
	}
	for _, p := range deferred {
		v := substitution.ApplyReplacements(p.Value.StringVal, r.str)
		r.addValue(paramPatterns, p.Name, v1.ParamValue{Type: v1.ParamTypeString, StringVal: v})
	}
	return r, effective, nil
}
