// Package evaluator compiles Rego policies once and evaluates them against
// many inputs, producing results in Conforma's shape: every object a
// package's deny rule produces is a violation, every warn object a warning,
// each with a code ("package.short_name"), a message, an effective_on date
// and collections, completed from the rule's # METADATA annotations.
package evaluator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/trustline-dev/trustline/internal/verify/ecbuiltins"
)

// DefaultEffectiveOn is the date Conforma gives rules that name none.
const DefaultEffectiveOn = "2022-01-01T00:00:00Z"

// RuleDataKey is where Conforma injects a source's ruleData: it takes
// precedence over rule_data_custom and rule_data from data files.
const RuleDataKey = "rule_data__configuration__"

// Rule describes one deny or warn rule from its annotations.
type Rule struct {
	Code        string   `json:"code"`
	Package     string   `json:"package"`
	ShortName   string   `json:"short_name"`
	Kind        string   `json:"kind"` // "deny" or "warn"
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Solution    string   `json:"solution,omitempty"`
	Collections []string `json:"collections,omitempty"`
	EffectiveOn string   `json:"effective_on,omitempty"`
	// DependsOn names rules (by code) whose violation or warning makes
	// this rule's results redundant (custom.depends_on).
	DependsOn []string `json:"depends_on,omitempty"`
}

// Result is one violation, warning or success.
type Result struct {
	Code        string         `json:"code,omitempty"`
	Msg         string         `json:"msg"`
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	Solution    string         `json:"solution,omitempty"`
	EffectiveOn string         `json:"effective_on,omitempty"`
	Collections []string       `json:"collections,omitempty"`
	Term        any            `json:"term,omitempty"`
	DependsOn   []string       `json:"depends_on,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// Outcome is what one evaluation found.
type Outcome struct {
	Violations []Result `json:"violations,omitempty"`
	Warnings   []Result `json:"warnings,omitempty"`
	Successes  []Result `json:"successes,omitempty"`
	// Errors are the built-in calls that could not answer (a registry
	// that failed, a bad reference): their expressions were undefined,
	// as in Conforma, and the rules using them decided without them.
	Errors []string `json:"errors,omitempty"`
}

// Engine is a compiled policy. It is safe for concurrent use.
type Engine struct {
	query    rego.PreparedEvalQuery
	rules    map[string]Rule // by code
	packages []pkgRules
	digest   string
	// maxMemory bounds the heap while Evaluate runs (0: unbounded).
	maxMemory uint64
}

type pkgRules struct {
	path  string // data.x.y
	short string // y
	kinds []string
}

type options struct {
	data         []string
	ruleData     map[string]any
	extra        map[string]any
	maxMemory    uint64
	maxMemorySet bool
	builtins     *ecbuiltins.Set
}

// Option configures New.
type Option func(*options)

// WithDataPaths loads JSON/YAML data files from these paths (OPA loader
// semantics: a file's directory below the path becomes its data path).
func WithDataPaths(paths ...string) Option {
	return func(o *options) { o.data = append(o.data, paths...) }
}

// WithRuleData injects rule data at data.rule_data__configuration__, as
// Conforma does with a source's ruleData. Default: none.
func WithRuleData(rd map[string]any) Option { return func(o *options) { o.ruleData = rd } }

// WithBuiltins sets the configuration of Conforma's ec.* built-ins
// (registry options, bounds). Default: ecbuiltins.New() with no options.
func WithBuiltins(s *ecbuiltins.Set) Option { return func(o *options) { o.builtins = s } }

// WithData merges an extra document at the root of data (tests, config).
func WithData(d map[string]any) Option { return func(o *options) { o.extra = d } }

// ErrPolicy is wrapped by errors in the policy itself (parse, compile,
// rule data), as opposed to errors evaluating one input.
var ErrPolicy = errors.New("policy error")

// New loads the Rego modules under policyPaths (files or directories;
// *_test.rego files are skipped), compiles them once and prepares the
// query that collects every package's deny and warn sets.
func New(ctx context.Context, policyPaths []string, opts ...Option) (*Engine, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	modules, err := loadModules(policyPaths, false)
	if err != nil {
		return nil, err
	}
	if o.builtins == nil {
		o.builtins = ecbuiltins.New()
	}
	e, err := compile(ctx, modules, o)
	if err != nil {
		return nil, err
	}
	e.maxMemory = DefaultMaxMemory
	if o.maxMemorySet {
		e.maxMemory = o.maxMemory
	}
	return e, nil
}

func loadModules(paths []string, tests bool) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".rego") {
				return nil
			}
			if !tests && strings.HasSuffix(p, "_test.rego") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m, err := ParseModule(p, string(b))
			if err != nil {
				return err
			}
			modules[p] = m
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%w: policy %s: %w", ErrPolicy, root, err)
		}
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("%w: no .rego files in %s", ErrPolicy, strings.Join(paths, ", "))
	}
	return modules, nil
}

// ParseModule parses Rego v1 and falls back to v0 syntax, so policies
// written for older Conforma releases still load.
func ParseModule(filename, src string) (*ast.Module, error) {
	m, err := ast.ParseModuleWithOpts(filename, src, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err == nil {
		return m, nil
	}
	if m0, err0 := ast.ParseModuleWithOpts(filename, src, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV0}); err0 == nil {
		return m0, nil
	}
	return nil, err
}

func compile(ctx context.Context, modules map[string]*ast.Module, o options) (*Engine, error) {
	data, err := policyData(o)
	if err != nil {
		return nil, err
	}
	c, err := compileModules(modules, o.builtins)
	if err != nil {
		return nil, err
	}
	e := &Engine{rules: annotatedRules(c)}
	query, packages, err := collectQuery(packagesWithRules(modules))
	if err != nil {
		return nil, err
	}
	e.packages = packages
	if e.query, err = prepareQuery(ctx, c, data, query, o.builtins); err != nil {
		return nil, err
	}
	return e, nil
}

// policyData is the data document the policy sees: the data files, then
// the extra document, then the rule data, each overriding what came before.
func policyData(o options) (map[string]any, error) {
	data := map[string]any{}
	if len(o.data) > 0 {
		res, err := loader.NewFileLoader().Filtered(o.data, func(_ string, info fs.FileInfo, _ int) bool {
			if info.IsDir() {
				return false
			}
			ext := filepath.Ext(info.Name())
			return ext != ".json" && ext != ".yaml" && ext != ".yml"
		})
		if err != nil {
			return nil, fmt.Errorf("%w: data: %w", ErrPolicy, err)
		}
		data = res.Documents
	}
	for k, v := range o.extra {
		data[k] = v
	}
	if o.ruleData != nil {
		data[RuleDataKey] = o.ruleData
	}
	return data, nil
}

func compileModules(modules map[string]*ast.Module, builtins *ecbuiltins.Set) (*ast.Compiler, error) {
	// The compiler type-checks calls of the ec.* built-ins against their
	// declarations; the implementations are bound to the query in
	// prepareQuery.
	c := ast.NewCompiler().WithEnablePrintStatements(false).WithBuiltins(builtins.Decls())
	c.Compile(modules)
	if c.Failed() {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, c.Errors)
	}
	return c, nil
}

// packagesWithRules finds, by package path, the packages that define deny
// or warn rules and which of the two each defines.
func packagesWithRules(modules map[string]*ast.Module) map[string]*pkgRules {
	byPkg := map[string]*pkgRules{}
	for _, m := range modules {
		path := m.Package.Path.String()
		for _, r := range m.Rules {
			kind := r.Head.Name.String()
			if len(r.Head.Reference) > 0 {
				kind = r.Head.Reference[0].Value.String()
				if len(r.Head.Reference) != 1 && !(len(r.Head.Reference) == 2 && r.Head.Key != nil) {
					continue
				}
			}
			if kind != "deny" && kind != "warn" {
				continue
			}
			p := byPkg[path]
			if p == nil {
				p = &pkgRules{path: path, short: lastSegment(m.Package.Path)}
				byPkg[path] = p
			}
			if !slices.Contains(p.kinds, kind) {
				p.kinds = append(p.kinds, kind)
			}
		}
	}
	return byPkg
}

// annotatedRules reads, by code, the deny and warn rules whose METADATA
// names a short_name.
func annotatedRules(c *ast.Compiler) map[string]Rule {
	rules := map[string]Rule{}
	for _, ar := range c.GetAnnotationSet().Flatten() {
		a := ar.Annotations
		if a == nil || a.Scope != "rule" || len(ar.Path) < 2 {
			continue
		}
		kind := strings.Trim(ar.Path[len(ar.Path)-1].Value.String(), `"`)
		if kind != "deny" && kind != "warn" {
			continue
		}
		short, _ := a.Custom["short_name"].(string)
		if short == "" {
			continue
		}
		pkg := strings.Trim(ar.Path[len(ar.Path)-2].Value.String(), `"`)
		r := Rule{Code: pkg + "." + short, Package: pkg, ShortName: short, Kind: kind, Title: a.Title, Description: a.Description}
		r.Solution, _ = a.Custom["solution"].(string)
		r.EffectiveOn, _ = a.Custom["effective_on"].(string)
		r.Collections = stringList(a.Custom["collections"])
		r.DependsOn = dependsOn(a.Custom["depends_on"])
		rules[r.Code] = r
	}
	return rules
}

// collectQuery writes the one query that gathers every package's deny and
// warn sets, as {path: {kind: set}}, and returns the packages in the order
// it names them (sorted by path, kinds sorted), which Evaluate follows.
func collectQuery(byPkg map[string]*pkgRules) (string, []pkgRules, error) {
	var paths []string
	for p := range byPkg {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var packages []pkgRules
	var q strings.Builder
	q.WriteString("x := {")
	for i, p := range paths {
		pr := byPkg[p]
		sort.Strings(pr.kinds)
		packages = append(packages, *pr)
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "%q: {", p)
		for j, k := range pr.kinds {
			if j > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "%q: %s.%s", k, p, k)
		}
		q.WriteString("}")
	}
	q.WriteString("}")
	if len(paths) == 0 {
		return "", nil, fmt.Errorf("%w: no package defines deny or warn rules", ErrPolicy)
	}
	return q.String(), packages, nil
}

func prepareQuery(ctx context.Context, c *ast.Compiler, data map[string]any, query string, builtins *ecbuiltins.Set) (rego.PreparedEvalQuery, error) {
	store := inmem.NewFromObject(data)
	ropts := append([]func(*rego.Rego){
		rego.Compiler(c),
		rego.Store(store),
		rego.Query(query),
		// A built-in that fails leaves its expression undefined, so one
		// unreachable registry does not stop every other rule (Conforma's
		// built-ins return no value on error for the same reason).
		rego.StrictBuiltinErrors(false),
	}, builtins.RegoOptions()...)
	pq, err := rego.New(ropts...).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	return pq, nil
}

// Rules returns the annotated rules, sorted by code.
func (e *Engine) Rules() []Rule {
	var out []Rule
	for _, r := range e.rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Evaluate runs the compiled policy on input at the effective time when:
// Rego's time.now_ns() returns when, and a result whose effective_on is
// after when is reported as a warning instead of a violation. It stops
// when ctx ends (returning the context's cause, e.g. a deadline's) or the
// heap passes the memory limit (ErrLimit).
func (e *Engine) Evaluate(ctx context.Context, input ast.Value, when time.Time, f Filter) (*Outcome, error) {
	ctx, cancel := context.WithCancelCause(ecbuiltins.WithCache(ctx))
	defer cancel(nil)
	if e.maxMemory > 0 {
		defer guardMemory(ctx, e.maxMemory, cancel)()
	}
	var builtinErrs []topdown.Error
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalTime(when), rego.EvalBuiltinErrorList(&builtinErrs))
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return nil, fmt.Errorf("evaluating policy: %w", cause)
		}
		return nil, fmt.Errorf("evaluating policy: %w", err)
	}
	out := &Outcome{Errors: errorMessages(builtinErrs)}
	if len(rs) == 0 {
		return out, nil
	}
	all, _ := rs[0].Bindings["x"].(map[string]any)
	fired := map[string]bool{}
	unmatched := map[string]bool{}
	for _, inc := range f.includes() {
		unmatched[inc] = true
	}
	for _, p := range e.packages {
		sets, _ := all[p.path].(map[string]any)
		for _, kind := range p.kinds {
			items, _ := sets[kind].([]any)
			for _, it := range items {
				r := e.result(p.short, kind, it)
				fired[r.Code] = true
				if !f.keeps(r.Code, r.Collections, r.Term, unmatched) {
					continue
				}
				if kind == "deny" && !inEffect(r.EffectiveOn, when) {
					out.Warnings = append(out.Warnings, r)
					continue
				}
				if kind == "deny" {
					out.Violations = append(out.Violations, r)
				} else {
					out.Warnings = append(out.Warnings, r)
				}
			}
		}
	}
	for _, r := range e.Rules() {
		if fired[r.Code] || !f.keeps(r.Code, r.Collections, nil, unmatched) {
			continue
		}
		out.Successes = append(out.Successes, Result{Code: r.Code, Msg: "Pass", Title: r.Title, Description: r.Description, EffectiveOn: r.EffectiveOn, Collections: r.Collections, DependsOn: r.DependsOn})
	}
	out.Warnings = append(out.Warnings, missingIncludes(unmatched, f.includes())...)
	trimDependents(out)
	sortResults(out.Violations)
	sortResults(out.Warnings)
	return out, nil
}

func sortResults(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Code != rs[j].Code {
			return rs[i].Code < rs[j].Code
		}
		return rs[i].Msg < rs[j].Msg
	})
}

func inEffect(effectiveOn string, when time.Time) bool {
	if effectiveOn == "" {
		return true
	}
	t, err := time.Parse(time.RFC3339, effectiveOn)
	if err != nil {
		if t, err = time.Parse("2006-01-02", effectiveOn); err != nil {
			return true // an unreadable date never turns a violation off
		}
	}
	return !when.Before(t)
}

// result turns one deny/warn item into a Result, filling what the rule's
// annotations say and the item does not.
func (e *Engine) result(pkg, kind string, item any) Result {
	var r Result
	switch v := item.(type) {
	case string:
		r.Msg = v
		r.Code = pkg + "." + kind
	case map[string]any:
		r.Code, _ = v["code"].(string)
		r.Msg, _ = v["msg"].(string)
		r.EffectiveOn, _ = v["effective_on"].(string)
		r.Collections = stringList(v["collections"])
		r.Term = v["term"]
		r.Solution, _ = v["solution"].(string)
		for k, val := range v {
			switch k {
			case "code", "msg", "effective_on", "collections", "term", "solution":
			default:
				if r.Extra == nil {
					r.Extra = map[string]any{}
				}
				r.Extra[k] = val
			}
		}
		if r.Code == "" {
			r.Code = pkg + "." + kind
		}
	default:
		r.Msg = fmt.Sprint(v)
		r.Code = pkg + "." + kind
	}
	if meta, ok := e.rules[r.Code]; ok {
		r.Title = meta.Title
		r.Description = meta.Description
		if r.Solution == "" {
			r.Solution = meta.Solution
		}
		if r.EffectiveOn == "" {
			r.EffectiveOn = meta.EffectiveOn
		}
		if len(r.Collections) == 0 {
			r.Collections = meta.Collections
		}
		r.DependsOn = meta.DependsOn
	}
	if r.EffectiveOn == "" {
		r.EffectiveOn = DefaultEffectiveOn
	}
	return r
}

// dependsOn reads custom.depends_on: a list of codes, or one code.
func dependsOn(v any) []string {
	switch d := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(d))
		for _, x := range d {
			out = append(out, fmt.Sprint(x))
		}
		return out
	default:
		return []string{fmt.Sprint(d)}
	}
}

func errorMessages(errs []topdown.Error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Message)
	}
	return out
}

func lastSegment(r ast.Ref) string {
	return strings.Trim(r[len(r)-1].Value.String(), `"`)
}

func stringList(v any) []string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, l...)
	}
	return out
}
