// Package match finds the advisories of a compiled OSV index that affect
// SBOM packages, comparing versions with osv-scalibr's semantic package in
// each ecosystem's own order.
package match

import (
	"slices"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/semantic"

	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/osvdb"
)

// Result is the outcome of matching a list of packages.
type Result struct {
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
	// Event versions repeat across advisories and packages; parse each
	// once per ecosystem (semantic's versions hold big.Ints).
	parsed := map[string]map[string]semantic.Version{}
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
		cache := parsed[p.Ecosystem]
		if cache == nil {
			cache = map[string]semantic.Version{}
			parsed[p.Ecosystem] = cache
		}
		cmp := func(s string) int {
			w, ok := cache[s]
			if !ok {
				w, _ = semantic.Parse(s, p.Ecosystem)
				cache[s] = w
			}
			if w == nil {
				return 1
			}
			c, err := v.Compare(w)
			if err != nil {
				return 1
			}
			return c
		}
		var hits []hit
		names := []string{p.Name}
		if p.Source != "" && p.Source != p.Name {
			names = append(names, p.Source)
		}
		for _, n := range names {
			for _, e := range ix.Lookup(p.Ecosystem, n) {
				if p.GOOS != "" && len(e.GOOS) > 0 && !slices.Contains(e.GOOS, p.GOOS) {
					continue // e.g. a Windows-only advisory in a Linux binary
				}
				if ok, fixed := affected(e, p.Version, cmp); ok {
					hits = append(hits, hit{vuln: ix.Vuln(e.Vuln), fixed: fixed})
				}
			}
		}
		res.Vulnerabilities = append(res.Vulnerabilities, dedupe(p, hits)...)
	}
	return res
}

// Refs names what Packages looks up for pkgs: each package under its
// name and, when it has one, its source package's name; the index need
// hold no more (osvdb.WithPackages).
func Refs(pkgs []finding.Package) []osvdb.PackageRef {
	out := make([]osvdb.PackageRef, 0, len(pkgs))
	for _, p := range pkgs {
		out = append(out, osvdb.PackageRef{Ecosystem: p.Ecosystem, Name: p.Name})
		if p.Source != "" && p.Source != p.Name {
			out = append(out, osvdb.PackageRef{Ecosystem: p.Ecosystem, Name: p.Source})
		}
	}
	return out
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
			if id != out[idx].ID && !slices.Contains(out[idx].Aliases, id) {
				out[idx].Aliases = append(out[idx].Aliases, id)
			}
		}
		for _, id := range h.vuln.Related {
			// AlmaLinux advisories name their CVEs as "related"; they are
			// what people search for, so they are listed, but they do not
			// merge advisories (a CVE can be fixed by several errata).
			if id != out[idx].ID && !slices.Contains(out[idx].Aliases, id) {
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

// Affected evaluates one affected entry for a version: listed in
// versions, or inside a range (introduced ≤ v < fixed, or ≤
// last_affected). It also returns the fixed version of the range that
// matched, if any.
func Affected(e osvdb.Entry, raw string, v semantic.Version) (bool, string) {
	return affected(e, raw, func(s string) int {
		c, err := v.CompareStr(s)
		if err != nil {
			return 1
		}
		return c
	})
}

// affected is Affected with cmp(s) comparing the package version with s
// (an event version the ecosystem cannot parse compares as lower).
func affected(e osvdb.Entry, raw string, cmp func(string) int) (bool, string) {
	for _, x := range e.Versions {
		if x == raw {
			return true, nextFixed(e, cmp)
		}
	}
	for _, r := range e.Ranges {
		isAffected := false
		fixed := ""
		for _, ev := range r.Events {
			switch {
			case ev.Introduced != "":
				if ev.Introduced == "0" || cmp(ev.Introduced) >= 0 {
					isAffected = true
					fixed = ""
				}
			case ev.Fixed != "":
				if cmp(ev.Fixed) >= 0 {
					isAffected = false
				} else if isAffected && fixed == "" {
					fixed = ev.Fixed
				}
			case ev.LastAffected != "":
				if cmp(ev.LastAffected) > 0 {
					isAffected = false
				}
			case ev.Limit != "":
				if cmp(ev.Limit) >= 0 {
					isAffected = false
				}
			}
			// Events are in version order: once a fixed version above v
			// closes an open range, later events cannot reopen it for v.
			if fixed != "" && isAffected {
				break
			}
		}
		if isAffected {
			return true, fixed
		}
	}
	return false, ""
}

func nextFixed(e osvdb.Entry, cmp func(string) int) string {
	for _, r := range e.Ranges {
		for _, ev := range r.Events {
			if ev.Fixed != "" && cmp(ev.Fixed) < 0 {
				return ev.Fixed
			}
		}
	}
	return ""
}
