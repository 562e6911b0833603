// Package match finds the advisories of a compiled OSV index that affect
// SBOM packages, comparing versions with osv-scalibr's semantic package in
// each ecosystem's own order.
package match

import (
	"sort"
	"strings"

	"github.com/google/osv-scalibr/semantic"

	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/osvdb"
)

// Result is the outcome of matching a list of packages.
type Result struct {
	// Err is set when a cached index turned out corrupt while matching.
	Err             error
	Vulnerabilities []finding.Vulnerability
	// Unmatched counts packages whose ecosystem the database does not
	// cover or whose version the ecosystem cannot parse.
	Unmatched int
}

// Packages matches every package against ix. An advisory is reported once
// per package even when it is listed under several ids or aliases, or
// matched through both the binary and the source package name.
func Packages(ix *osvdb.Index, pkgs []finding.Package) Result {
	covered := map[string]bool{}
	for _, e := range ix.Ecosystems {
		covered[e] = true
	}
	var res Result
	for _, p := range pkgs {
		base, _, _ := strings.Cut(p.Ecosystem, ":")
		if !covered[base] {
			res.Unmatched++
			continue
		}
		v, err := semantic.Parse(p.Version, p.Ecosystem)
		if err != nil {
			res.Unmatched++
			continue
		}
		var hits []hit
		names := []string{p.Name}
		if p.Source != "" && p.Source != p.Name {
			names = append(names, p.Source)
		}
		for _, n := range names {
			for _, e := range ix.Lookup(p.Ecosystem, n) {
				if p.GOOS != "" && len(e.GOOS) > 0 && !contains(e.GOOS, p.GOOS) {
					continue // e.g. a Windows-only advisory in a Linux binary
				}
				if ok, fixed := Affected(e, p.Version, v, p.Ecosystem); ok {
					hits = append(hits, hit{vuln: ix.Vuln(e.Vuln), fixed: fixed})
				}
			}
		}
		res.Vulnerabilities = append(res.Vulnerabilities, dedupe(p, hits)...)
	}
	res.Err = ix.Err()
	return res
}

type hit struct {
	vuln  *osvdb.Vuln
	fixed string
}

// dedupe merges hits that share an id or alias into one finding.
func dedupe(p finding.Package, hits []hit) []finding.Vulnerability {
	var out []finding.Vulnerability
	seen := map[string]int{} // id or alias → index in out
	for _, h := range hits {
		idx := -1
		for _, id := range append([]string{h.vuln.ID}, h.vuln.Aliases...) {
			if i, ok := seen[id]; ok {
				idx = i
				break
			}
		}
		if idx < 0 {
			out = append(out, finding.Vulnerability{
				ID:           h.vuln.ID,
				Package:      p,
				Severity:     h.vuln.Rating,
				Score:        h.vuln.Score,
				Vector:       h.vuln.Vector,
				FixedVersion: h.fixed,
				Summary:      h.vuln.Summary,
				URL:          h.vuln.URL,
			})
			idx = len(out) - 1
		} else if h.vuln.Rating.Rank() > out[idx].Severity.Rank() {
			out[idx].Severity, out[idx].Score, out[idx].Vector = h.vuln.Rating, h.vuln.Score, h.vuln.Vector
		}
		for _, id := range append([]string{h.vuln.ID}, h.vuln.Aliases...) {
			seen[id] = idx
			if id != out[idx].ID && !contains(out[idx].Aliases, id) {
				out[idx].Aliases = append(out[idx].Aliases, id)
			}
		}
		for _, id := range h.vuln.Related {
			// AlmaLinux advisories name their CVEs as "related"; they are
			// what people search for, so they are listed, but they do not
			// merge advisories (a CVE can be fixed by several errata).
			if id != out[idx].ID && !contains(out[idx].Aliases, id) {
				out[idx].Aliases = append(out[idx].Aliases, id)
			}
		}
		if out[idx].FixedVersion == "" {
			out[idx].FixedVersion = h.fixed
		}
	}
	for i := range out {
		sort.Strings(out[i].Aliases)
	}
	return out
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// Affected evaluates one affected entry for a version: listed in
// versions, or inside a range (introduced ≤ v < fixed, or ≤
// last_affected). It also returns the fixed version of the range that
// matched, if any.
func Affected(e osvdb.Entry, raw string, v semantic.Version, ecosystem string) (bool, string) {
	for _, x := range e.Versions {
		if x == raw {
			return true, nextFixed(e, v)
		}
	}
	for _, r := range e.Ranges {
		affected := false
		fixed := ""
		for _, ev := range r.Events {
			switch {
			case ev.Introduced != "":
				if ev.Introduced == "0" || cmp(v, ev.Introduced) >= 0 {
					affected = true
					fixed = ""
				}
			case ev.Fixed != "":
				c := cmp(v, ev.Fixed)
				if c >= 0 {
					affected = false
				} else if affected && fixed == "" {
					fixed = ev.Fixed
				}
			case ev.LastAffected != "":
				if cmp(v, ev.LastAffected) > 0 {
					affected = false
				}
			case ev.Limit != "":
				if cmp(v, ev.Limit) >= 0 {
					affected = false
				}
			}
			if fixed != "" && affected {
				break
			}
		}
		if affected {
			return true, fixed
		}
	}
	_ = ecosystem
	return false, ""
}

func nextFixed(e osvdb.Entry, v semantic.Version) string {
	for _, r := range e.Ranges {
		for _, ev := range r.Events {
			if ev.Fixed != "" && cmp(v, ev.Fixed) < 0 {
				return ev.Fixed
			}
		}
	}
	return ""
}

// cmp compares v with s. An event version the ecosystem cannot parse
// compares as lower than v.
func cmp(v semantic.Version, s string) int {
	c, err := v.CompareStr(s)
	if err != nil {
		return 1
	}
	return c
}
