package evaluator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A package shaped like Conforma's tasks rules: one rule in the
// pipeline_provenance collection, one that depends on it.
const taskRules = `package tasks

import rego.v1

# METADATA
# title: Required tasks ran
# custom:
#   short_name: required_tasks_ran
#   collections: [pipeline_provenance]
deny contains {"code": "tasks.required_tasks_ran", "msg": "a required task is missing"} if input.missing_task

# METADATA
# title: Pinned tasks
# custom:
#   short_name: pinned
#   depends_on: [tasks.required_tasks_ran]
deny contains {"code": "tasks.pinned", "msg": "a task is not pinned"} if input.unpinned

# METADATA
# title: Trusted tasks
# custom:
#   short_name: trusted
#   depends_on: tasks.required_tasks_ran
deny contains {"code": "tasks.trusted", "msg": "a task is not trusted"} if input.untrusted

# METADATA
# title: Needs two
# custom:
#   short_name: two
#   depends_on: [tasks.required_tasks_ran, tasks.pinned]
deny contains {"code": "tasks.two", "msg": "two"} if input.two
`

func taskEngine(t *testing.T) *Engine {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tasks.rego"), []byte(taskRules), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The case: include ["@pipeline_provenance", "*"] scores 10 + 1
// against exclude ["tasks"]'s 10, so Conforma keeps
// tasks.required_tasks_ran; the best single match (10 against 10) lost it.
func TestIncludeScoresAreSummed(t *testing.T) {
	e := taskEngine(t)
	out := eval(t, e, map[string]any{"missing_task": true, "untrusted": true}, after,
		Filter{Include: []string{"@pipeline_provenance", "*"}, Exclude: []string{"tasks"}})
	if got := codes(out.Violations); len(got) != 1 || !got["tasks.required_tasks_ran"] {
		t.Errorf("violations %v, want only tasks.required_tasks_ran", got)
	}
	if len(out.Successes) != 0 {
		t.Errorf("successes %v: the other tasks rules score 1 against 10", codes(out.Successes))
	}
}

func TestSpecificity(t *testing.T) {
	for entry, want := range map[string]int{
		"*": 1, "@c": 10, "pkg": 10, "pkg.*": 10, "pkg.rule": 110, "pkg:t": 110,
		"pkg.rule:t": 210, "a.pkg.rule": 120, "*.rule": 101,
	} {
		if got := specificity(entry); got != want {
			t.Errorf("specificity(%q) = %d, want %d", entry, got, want)
		}
	}
}

func TestDependsOn(t *testing.T) {
	e := taskEngine(t)
	if r := e.rules["tasks.trusted"]; len(r.DependsOn) != 1 || r.DependsOn[0] != "tasks.required_tasks_ran" {
		t.Fatalf("a single depends_on string: %+v", r)
	}
	// The dependency failed: its dependents are not reported, whether
	// they failed or passed.
	out := eval(t, e, map[string]any{"missing_task": true, "untrusted": true}, after, Filter{})
	if got := codes(out.Violations); len(got) != 1 || !got["tasks.required_tasks_ran"] {
		t.Errorf("violations %v, want only the dependency", got)
	}
	// tasks.two depends on a failed and a passing rule: kept.
	if got := codes(out.Successes); got["tasks.pinned"] || !got["tasks.two"] {
		t.Errorf("successes %v: pinned depends on the failure, two on a passing rule too", got)
	}
	// The dependency passed: dependents report as usual, and successes
	// carry depends_on.
	out = eval(t, e, map[string]any{"untrusted": true}, after, Filter{})
	if got := codes(out.Violations); len(got) != 1 || !got["tasks.trusted"] {
		t.Errorf("violations %v, want tasks.trusted", got)
	}
	for _, s := range out.Successes {
		if s.Code == "tasks.pinned" && (len(s.DependsOn) != 1 || s.DependsOn[0] != "tasks.required_tasks_ran") {
			t.Errorf("success without depends_on: %+v", s)
		}
	}
	for _, v := range out.Violations {
		if len(v.DependsOn) != 1 {
			t.Errorf("violation without depends_on: %+v", v)
		}
	}
}

func TestMissingIncludeWarns(t *testing.T) {
	e := taskEngine(t)
	out := eval(t, e, map[string]any{}, after, Filter{Include: []string{"@nosuch", "tasks"}})
	if len(out.Warnings) != 1 || out.Warnings[0].Msg != "Include criterion '@nosuch' doesn't match any policy rule" || out.Warnings[0].Code != "" {
		t.Errorf("warnings %+v", out.Warnings)
	}
	// An entry that matches a rule, even one the exclusions drop, is not
	// missing.
	out = eval(t, e, map[string]any{}, after, Filter{Include: []string{"tasks.pinned"}, Exclude: []string{"tasks.pinned"}})
	if len(out.Warnings) != 0 {
		t.Errorf("warnings %+v", out.Warnings)
	}
}

// A built-in that fails leaves its expression undefined and the other
// rules decide; the error names the reference.
func TestBuiltinErrorIsUndefined(t *testing.T) {
	dir := t.TempDir()
	src := `package b

import rego.v1

# METADATA
# title: Descriptor known
# custom:
#   short_name: descriptor
deny contains {"code": "b.descriptor", "msg": "no descriptor"} if not ec.oci.descriptor("not a reference!")

# METADATA
# title: Always passes
# custom:
#   short_name: other
deny contains {"code": "b.other", "msg": "never"} if false
`
	os.WriteFile(filepath.Join(dir, "b.rego"), []byte(src), 0o644)
	e, err := New(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	out := eval(t, e, map[string]any{}, after, Filter{})
	if got := codes(out.Violations); !got["b.descriptor"] || len(got) != 1 {
		t.Errorf("violations %v", got)
	}
	if !codes(out.Successes)["b.other"] {
		t.Errorf("successes %v", codes(out.Successes))
	}
	if len(out.Errors) != 1 || !strings.Contains(out.Errors[0], `ec.oci.descriptor: reference "not a reference!"`) {
		t.Errorf("errors %q", out.Errors)
	}
}
