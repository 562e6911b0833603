package runner

import (
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

var fuzzSpecs = v1.ParamSpecs{
	{Name: "s", Type: v1.ParamTypeString},
	{Name: "a", Type: v1.ParamTypeArray},
	{Name: "o", Type: v1.ParamTypeObject, Properties: map[string]v1.PropertySpec{"k": {Type: v1.ParamTypeString}}},
}

// FuzzParseParams feeds command-line param values (what a user or a
// script passes to trustline run) through parsing and Tekton's
// substitution: no input may panic, and an accepted value must keep its
// declared type.
func FuzzParseParams(f *testing.F) {
	for _, seed := range []string{"s=x", "a=p,q,r", "o=k:v,x:y", "a=", "o=k", "s=$(params.a[*])", "=x", "s=a=b=c", "o=k:v:w"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, kv string) {
		params, err := ParseParams(fuzzSpecs, []string{kv})
		if err != nil {
			return
		}
		for _, p := range params {
			var want v1.ParamType
			for _, s := range fuzzSpecs {
				if s.Name == p.Name {
					want = s.Type
				}
			}
			if p.Value.Type != want {
				t.Fatalf("%q: param %s typed %s, declared %s", kv, p.Name, p.Value.Type, want)
			}
		}
		// Substitution of whatever was accepted must not panic either.
		_, _, _ = paramReplacements("fuzz", fuzzSpecs, params)
	})
}

func TestParseParamsTypes(t *testing.T) {
	got, err := ParseParams(fuzzSpecs, []string{"s=a,b", "a=p,q", "o=k:v,x:y:z"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Value.StringVal != "a,b" {
		t.Errorf("string %q: a string value keeps its commas", got[0].Value.StringVal)
	}
	if strings.Join(got[1].Value.ArrayVal, "|") != "p|q" {
		t.Errorf("array %v", got[1].Value.ArrayVal)
	}
	if got[2].Value.ObjectVal["k"] != "v" || got[2].Value.ObjectVal["x"] != "y:z" {
		t.Errorf("object %v", got[2].Value.ObjectVal)
	}
	if _, _, err := paramReplacements("t", fuzzSpecs, v1.Params{got[0], got[1]}); err == nil || !strings.Contains(err.Error(), "o") {
		t.Errorf("missing object param: %v", err)
	}
	if _, _, err := paramReplacements("t", fuzzSpecs, v1.Params{got[0], got[1], {Name: "o", Value: v1.ParamValue{Type: v1.ParamTypeObject, ObjectVal: map[string]string{"x": "1"}}}}); err == nil || !strings.Contains(err.Error(), `"k"`) {
		t.Errorf("object without its key k: %v", err)
	}
}
