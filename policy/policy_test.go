package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/trustline-dev/trustline/policy"
)

// TestRego runs every Rego test of the pack with OPA's test runner, as
// `opa test policy/` would.
func TestRego(t *testing.T) {
	modules, store, err := tester.Load([]string{"lib", "release", "data"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := tester.NewRunner().SetStore(store).RaiseBuiltinErrors(true).Run(context.Background(), modules)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		if r.Error != nil {
			t.Errorf("%s.%s: error: %v", r.Package, r.Name, r.Error)
		} else if r.Fail {
			t.Errorf("%s.%s: FAIL", r.Package, r.Name)
		}
	}
	if n < 30 {
		t.Errorf("ran %d Rego tests, expected the whole suite (30+)", n)
	}
}

// TestEveryRuleHasMetadataAndTests checks that each deny/warn rule carries
// the annotations the report needs and that a test names it.
func TestEveryRuleHasMetadataAndTests(t *testing.T) {
	var tests []string
	files, _ := filepath.Glob("release/*_test.rego")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "test_") {
				tests = append(tests, strings.Fields(line)[0])
			}
		}
	}
	rules, _ := filepath.Glob("release/*.rego")
	seen := 0
	for _, f := range rules {
		if strings.HasSuffix(f, "_test.rego") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ast.ParseModuleWithOpts(f, string(b), ast.ParserOptions{ProcessAnnotation: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Annotations {
			if a.Scope != "rule" {
				continue
			}
			short, _ := a.Custom["short_name"].(string)
			if short == "" || a.Title == "" || a.Description == "" || a.Custom["failure_msg"] == nil || a.Custom["solution"] == nil {
				t.Errorf("%s: rule %q lacks title, description, short_name, failure_msg or solution", f, a.Title)
				continue
			}
			seen++
			found := false
			for _, name := range tests {
				if strings.Contains(name, short) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: rule %s has no test whose name contains %q", f, short, short)
			}
		}
	}
	if seen < 15 {
		t.Errorf("found %d annotated rules, want the whole pack", seen)
	}
}

func TestExtractSkipsTests(t *testing.T) {
	dir := t.TempDir()
	pol, data, err := policy.Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "rule_data.yml")); err != nil {
		t.Error(err)
	}
	tests, _ := filepath.Glob(filepath.Join(pol, "release", "*_test.rego"))
	if len(tests) != 0 {
		t.Errorf("extracted test files: %v", tests)
	}
	rules, _ := filepath.Glob(filepath.Join(pol, "release", "*.rego"))
	if len(rules) < 9 {
		t.Errorf("extracted %d rule files", len(rules))
	}
}
