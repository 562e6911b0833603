package evaluator

import (
	"fmt"
	"strings"
)

// Filter says which results count, by Conforma's include/exclude entries.
type Filter struct {
	Include []string
	Exclude []string
}

// includes returns the include entries, "*" when there are none, as
// Conforma defaults them.
func (f Filter) includes() []string {
	if len(f.Include) == 0 {
		return []string{"*"}
	}
	return f.Include
}

// keeps applies Conforma's include/exclude scoring: every entry that
// matches the result adds its specificity to its list's score, and the
// result is kept when the include score is higher. Summing (rather than
// taking the best entry) matters: include ["@c", "*"] scores 11 against
// exclude ["pkg"]'s 10, so a rule of collection c in package pkg stays.
// Matched include entries are struck from unmatched, which ends as the
// include entries that match no rule at all.
func (f Filter) keeps(code string, collections []string, term any, unmatched map[string]bool) bool {
	m := matchers(code, collections, term)
	inc := scoreMatches(m, f.includes(), unmatched)
	exc := scoreMatches(m, f.Exclude, nil)
	return inc > exc
}

// matchers are the entries that select a result: its package (the
// second-to-last part of its code), package.*, the code, each of those
// with ":term" for each string term, "*", and "@collection".
func matchers(code string, collections []string, term any) []string {
	parts := strings.Split(code, ".")
	var out []string
	if len(parts) >= 2 {
		pkg := parts[len(parts)-2]
		out = append(out, pkg, pkg+".*", pkg+"."+parts[len(parts)-1])
	}
	var withTerms []string
	for _, t := range terms(term) {
		for _, m := range out {
			withTerms = append(withTerms, m+":"+t)
		}
	}
	out = append(out, withTerms...)
	out = append(out, "*")
	for _, c := range collections {
		out = append(out, "@"+c)
	}
	return out
}

// terms reads a result's term: a string or a list of strings, as
// Conforma reads it; anything else has no term.
func terms(term any) []string {
	switch v := term.(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// scoreMatches sums the specificity of every (matcher, entry) pair that
// is equal.
func scoreMatches(matchers, entries []string, unmatched map[string]bool) int {
	s := 0
	for _, m := range matchers {
		for _, e := range entries {
			if e == m {
				s += specificity(e)
				delete(unmatched, e)
			}
		}
	}
	return s
}

// specificity is Conforma's score of an entry: 10 for "@collection";
// otherwise 100 for a ":term", then 1 for "*" or 10 for a package alone,
// and for "path.pkg.rule" 10 per package segment plus 100 when a rule
// (not "*") is named.
func specificity(entry string) int {
	if strings.HasPrefix(entry, "@") {
		return 10
	}
	v := 0
	name, term, _ := strings.Cut(entry, ":")
	if term != "" {
		v += 100
	}
	parts := strings.Split(name, ".")
	if len(parts) == 1 {
		if name == "*" {
			return v + 1
		}
		return v + 10
	}
	rule := parts[len(parts)-1]
	if pkg := strings.Join(parts[:len(parts)-1], "."); pkg == "*" {
		v++
	} else {
		v += 10 * (len(parts) - 1)
	}
	if rule != "*" && rule != "" {
		v += 100
	}
	return v
}

// missingIncludes are Conforma's warnings for include entries that match
// no rule, so a misspelt collection does not silently include nothing.
func missingIncludes(unmatched map[string]bool, order []string) []Result {
	var out []Result
	for _, e := range order {
		if unmatched[e] {
			out = append(out, Result{Msg: fmt.Sprintf("Include criterion '%s' doesn't match any policy rule", e)})
		}
	}
	return out
}

// trimDependents drops the results of rules that depend on a rule
// reported as a violation or warning: the dependency's report already
// says what is wrong, as Conforma's depends_on does. A result is kept
// when at least one of its dependencies was not reported.
func trimDependents(out *Outcome) {
	reported := map[string]bool{}
	for _, rs := range [][]Result{out.Violations, out.Warnings} {
		for _, r := range rs {
			if r.Code != "" {
				reported[r.Code] = true
			}
		}
	}
	keep := func(rs []Result) []Result {
		kept := rs[:0]
		for _, r := range rs {
			if len(r.DependsOn) == 0 || !allIn(r.DependsOn, reported) {
				kept = append(kept, r)
			}
		}
		return kept
	}
	out.Violations = keep(out.Violations)
	out.Warnings = keep(out.Warnings)
	out.Successes = keep(out.Successes)
}

func allIn(l []string, set map[string]bool) bool {
	for _, s := range l {
		if !set[s] {
			return false
		}
	}
	return true
}
