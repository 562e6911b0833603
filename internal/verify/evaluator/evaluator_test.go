package evaluator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

const rules = `package checks

import rego.v1

# METADATA
# title: Has a name
# description: input.name is set
# custom:
#   short_name: named
#   solution: set a name
#   collections: [minimal]
deny contains {"code": "checks.named", "msg": "no name"} if not input.name

# METADATA
# title: Name is short
# description: input.name is short
# custom:
#   short_name: short
#   effective_on: "2030-01-01T00:00:00Z"
#   collections: [strict]
deny contains {"code": "checks.short", "msg": sprintf("name %s is long", [input.name]), "term": input.name} if count(input.name) > 3

# METADATA
# title: Rule data threshold
# description: reads rule data injected like Conforma
# custom:
#   short_name: threshold
deny contains {"code": "checks.threshold", "msg": "over"} if input.n > data.rule_data__configuration__.max

warn contains "plain string warning" if input.warn
`

// v0 syntax, as older Conforma policies are written.
const v0rules = `package old

deny[msg] {
	input.old
	msg := {"code": "old.legacy", "msg": "legacy rule fired"}
}
`

func engine(t *testing.T, opts ...Option) *Engine {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "checks.rego"), []byte(rules), 0o644)
	os.WriteFile(filepath.Join(dir, "old.rego"), []byte(v0rules), 0o644)
	os.WriteFile(filepath.Join(dir, "checks_test.rego"), []byte("package checks\n\nthis is not rego"), 0o644)
	e, err := New(context.Background(), []string{dir}, append([]Option{WithRuleData(map[string]any{"max": 5})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func eval(t *testing.T, e *Engine, input map[string]any, when time.Time, f Filter) *Outcome {
	t.Helper()
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Evaluate(context.Background(), v, when, f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func codes(rs []Result) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		m[r.Code] = true
	}
	return m
}

var (
	before = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	after  = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestResultsCarryMetadata(t *testing.T) {
	e := engine(t)
	out := eval(t, e, map[string]any{"name": "toolong", "n": 9, "warn": true, "old": true}, after, Filter{})
	got := codes(out.Violations)
	for _, c := range []string{"checks.short", "checks.threshold", "old.legacy"} {
		if !got[c] {
			t.Errorf("missing violation %s in %v", c, got)
		}
	}
	for _, r := range out.Violations {
		if r.Code == "checks.short" {
			if r.Title != "Name is short" || r.EffectiveOn != "2030-01-01T00:00:00Z" || len(r.Collections) != 1 || r.Term != "toolong" {
				t.Errorf("metadata not filled: %+v", r)
			}
		}
		if r.Code == "old.legacy" && r.EffectiveOn != DefaultEffectiveOn {
			t.Errorf("default effective_on: %+v", r)
		}
	}
	if len(out.Warnings) != 1 || out.Warnings[0].Msg != "plain string warning" || out.Warnings[0].Code != "checks.warn" {
		t.Errorf("warnings: %+v", out.Warnings)
	}
	if !codes(out.Successes)["checks.named"] || codes(out.Successes)["checks.short"] {
		t.Errorf("successes: %v", codes(out.Successes))
	}
}

func TestNotYetEffectiveOnlyWarns(t *testing.T) {
	e := engine(t)
	out := eval(t, e, map[string]any{"name": "toolong", "n": 1}, before, Filter{})
	if codes(out.Violations)["checks.short"] || !codes(out.Warnings)["checks.short"] {
		t.Errorf("before 2030: violations %v warnings %v", codes(out.Violations), codes(out.Warnings))
	}
}

func TestIncludeExclude(t *testing.T) {
	e := engine(t)
	in := map[string]any{"n": 9, "name": "toolong", "old": true}
	for _, tc := range []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"checks.short", "checks.threshold", "old.legacy"}},
		{Filter{Exclude: []string{"checks"}}, []string{"old.legacy"}},
		{Filter{Include: []string{"@strict"}}, []string{"checks.short"}},
		{Filter{Include: []string{"checks"}, Exclude: []string{"checks.short"}}, []string{"checks.threshold"}},
		{Filter{Exclude: []string{"*"}, Include: []string{"old.legacy"}}, []string{"old.legacy"}},
		{Filter{Exclude: []string{"checks.short:toolong"}}, []string{"checks.threshold", "old.legacy"}},
		{Filter{Exclude: []string{"checks.short:other"}}, []string{"checks.short", "checks.threshold", "old.legacy"}},
		{Filter{Include: []string{"*"}, Exclude: []string{"*"}}, nil},
	} {
		out := eval(t, e, in, after, tc.f)
		got := codes(out.Violations)
		if len(got) != len(tc.want) {
			t.Errorf("%+v: got %v want %v", tc.f, got, tc.want)
			continue
		}
		for _, c := range tc.want {
			if !got[c] {
				t.Errorf("%+v: got %v want %v", tc.f, got, tc.want)
			}
		}
	}
}

func TestEvalTimeIsNow(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.rego"), []byte("package t\n\nimport rego.v1\n\ndeny contains \"late\" if time.now_ns() > time.parse_rfc3339_ns(\"2028-01-01T00:00:00Z\")\n"), 0o644)
	e, err := New(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if out := eval(t, e, map[string]any{}, before, Filter{}); len(out.Violations) != 0 {
		t.Errorf("before: %+v", out.Violations)
	}
	if out := eval(t, e, map[string]any{}, after, Filter{}); len(out.Violations) != 1 {
		t.Errorf("after: %+v", out.Violations)
	}
}

func TestPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.rego"), []byte("package a\n\nimport rego.v1\n\ndeny contains x if { x := data.nope.fn(1) }\n"), 0o644)
	_, err := New(context.Background(), []string{dir})
	if !errors.Is(err, ErrPolicy) {
		t.Errorf("compile error: %v", err)
	}
	empty := t.TempDir()
	if _, err := New(context.Background(), []string{empty}); !errors.Is(err, ErrPolicy) {
		t.Errorf("no rego: %v", err)
	}
	os.WriteFile(filepath.Join(empty, "x.rego"), []byte("package x\n\nallow := true\n"), 0o644)
	if _, err := New(context.Background(), []string{empty}); !errors.Is(err, ErrPolicy) {
		t.Errorf("no deny/warn: %v", err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "d.json"), []byte("{not json"), 0o644)
	if _, err := New(context.Background(), []string{dir}, WithDataPaths(bad)); !errors.Is(err, ErrPolicy) {
		t.Errorf("bad data: %v", err)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "checks.rego"), []byte(rules), 0o644)
	e, err := New(context.Background(), []string{dir}, WithRuleData(map[string]any{"max": 5}))
	if err != nil {
		b.Fatal(err)
	}
	v, _ := ast.InterfaceToValue(map[string]any{"name": "toolong", "n": 9})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Evaluate(context.Background(), v, after, Filter{}); err != nil {
			b.Fatal(err)
		}
	}
}
