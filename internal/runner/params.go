package runner

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// ParseParams turns command-line `name=value` pairs into Tekton params,
// typed by the declarations they are for, as `tkn` reads them: an array is
// `name=a,b,c`, an object `name=key1:v1,key2:v2`. A name the declarations
// do not have is an error naming it.
func ParseParams(specs v1.ParamSpecs, kvs []string) (v1.Params, error) {
	byName := map[string]v1.ParamSpec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	var out v1.Params
	seen := map[string]bool{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want name=value", kv)
		}
		spec, ok := byName[k]
		if !ok {
			return nil, fmt.Errorf("--param %s: no such parameter (declared: %s)", k, strings.Join(specNames(specs), ", "))
		}
		if seen[k] {
			return nil, fmt.Errorf("--param %s: given twice", k)
		}
		seen[k] = true
		p := v1.Param{Name: k}
		switch spec.Type {
		case v1.ParamTypeArray:
			var items []string
			if v != "" {
				items = strings.Split(v, ",")
			}
			p.Value = v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: items}
		case v1.ParamTypeObject:
			obj := map[string]string{}
			if v != "" {
				for _, pair := range strings.Split(v, ",") {
					ok, ov, found := strings.Cut(pair, ":")
					if !found {
						return nil, fmt.Errorf("--param %s: object parameter wants key:value,key:value (got %q)", k, pair)
					}
					obj[ok] = ov
				}
			}
			p.Value = v1.ParamValue{Type: v1.ParamTypeObject, ObjectVal: obj}
		default:
			p.Value = v1.ParamValue{Type: v1.ParamTypeString, StringVal: v}
		}
		out = append(out, p)
	}
	return out, nil
}

func specNames(specs v1.ParamSpecs) []string {
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
}
