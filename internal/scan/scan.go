// Package scan is the scan step's flow: read an SBOM, match its packages
// against an OSV database, apply VEX statements, or check configuration
// files; then judge the result against a severity threshold and produce
// the Tekton results TEST_OUTPUT (Konflux's shape) and SCAN_OUTPUT.
//
// The parts, one noun each: inventory (SBOM → packages), osvdb (the
// database and its compiled, cached index), match (versions against
// ranges with osv-scalibr's semantic), cvss (v3.x and v4.0 scoring), vex
// (OpenVEX and CycloneDX VEX), misconfig (Containerfile and YAML rules),
// report (table, JSON, SARIF, CycloneDX), attached (the SBOM beside an
// image), step (the command line).
//
// Decisions worth knowing:
//   - Severity is the CVSS rating of the record's newest CVSS version
//     (v4.0 over v3.x, highest score within a version), else the record's
//     own word (database_specific.severity, or the "Important:" prefix of
//     Red Hat-derived summaries), else unknown. Unknown never reaches a
//     --fail-on threshold: Go advisories carry no score, so they warn.
//   - An advisory is one finding per package even when found under
//     several ids that alias each other, or through both the binary and
//     the source package name. AlmaLinux "related" CVE ids are listed as
//     aliases but do not merge errata.
//   - OS packages match the ecosystem of their distribution's major
//     release ("AlmaLinux:9" from distro=almalinux-9.4); an advisory
//     published for several releases counts in each.
//   - Go: the standard library's "go1.26.8" (syft's component version) is
//     read as 1.26.8; advisories limited to other GOOS values are skipped
//     as govulncheck skips them (the step assumes linux when the SBOM does
//     not say, --goos).
//   - SCAN_OUTPUT follows Konflux's clair-scan: "vulnerabilities" counts
//     findings with a fixed version, "unpatched_vulnerabilities" those
//     without; VEX-suppressed findings are counted apart.
//   - The scan reads the SBOM the sbom step attached; it catalogs an image
//     itself (with the sbom step's library) only when asked (--catalog),
//     since a missing SBOM usually means a pipeline skipped a step.
package scan

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/inventory"
	"github.com/trustline-dev/trustline/internal/scan/match"
	"github.com/trustline-dev/trustline/internal/scan/misconfig"
	"github.com/trustline-dev/trustline/internal/scan/osvdb"
	"github.com/trustline-dev/trustline/internal/scan/vex"
)

// Tool is the name reports give the scanner.
const Tool = "trustline-scan"

type options struct {
	dbCache  []string
	vex      []string
	progress io.Writer
	now      func() time.Time
	version  string
	goos     string
}

// Option configures a scan.
type Option func(*options)

// WithDBCache keeps the OSV database's name index (which records name
// which packages, per ecosystem, keyed by the database's digest) in the
// first of dirs that can be written, so later scans read only the
// records their SBOM needs. Default: none (each scan runs the pre-pass
// over the ecosystems its SBOM names).
func WithDBCache(dirs ...string) Option { return func(o *options) { o.dbCache = dirs } }

// WithVEX applies the VEX documents in files, in order. Default: none.
func WithVEX(files ...string) Option { return func(o *options) { o.vex = append(o.vex, files...) } }

// WithProgress writes progress for people to w. Default: silent.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithGOOS assumes goos for Go packages whose SBOM entry does not record
// the target system (syft records it only in CycloneDX, and only when it
// keeps build settings), so that an advisory limited to other systems
// (a Windows-only bug in golang.org/x/sys) is not reported, as
// govulncheck does not report it. Default: no assumption, every
// platform-specific advisory is reported.
func WithGOOS(goos string) Option { return func(o *options) { o.goos = goos } }

// WithClock sets the clock for report timestamps. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithVersion names the scanner's version in reports. Default: "dev".
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

func makeOptions(opts []Option) options {
	o := options{progress: io.Discard, now: time.Now, version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// DatabaseError wraps a failure to load the vulnerability database, which
// the step reports as ERROR rather than as a passing scan.
type DatabaseError struct{ Err error }

func (e *DatabaseError) Error() string { return "vulnerability database: " + e.Err.Error() }
func (e *DatabaseError) Unwrap() error { return e.Err }

// Vulnerabilities matches the packages of an SBOM (the bytes of a
// CycloneDX or SPDX JSON document) against the OSV database in dbDir.
// subject names what was scanned in the report.
func Vulnerabilities(sbom []byte, subject, dbDir string, opts ...Option) (*finding.Report, error) {
	o := makeOptions(opts)
	doc, err := inventory.Decode(sbom)
	if err != nil {
		return nil, fmt.Errorf("SBOM %s: %w", subject, err)
	}
	fmt.Fprintf(o.progress, "scan: %s: %s SBOM with %d packages (%d without a known ecosystem)\n",
		subject, doc.Format, len(doc.Packages), doc.Skipped)
	if o.goos != "" {
		for i := range doc.Packages {
			if p := &doc.Packages[i]; p.Ecosystem == "Go" && p.GOOS == "" {
				p.GOOS = o.goos
			}
		}
	}
	// VEX documents are read before the database so that a typo in a VEX
	// path fails fast.
	var stmts []vex.Statement
	for _, f := range o.vex {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("VEX document: %w", err)
		}
		st, err := vex.Parse(f, b)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, st...)
	}
	ix, err := osvdb.Open(dbDir, osvdb.WithProgress(o.progress), osvdb.WithCacheDir(o.dbCache...),
		osvdb.WithPackages(match.Refs(doc.Packages)))
	if err != nil {
		return nil, &DatabaseError{Err: err}
	}
	res := match.Packages(ix, doc.Packages)
	kept, suppressed := vex.Apply(stmts, res.Vulnerabilities)
	fmt.Fprintf(o.progress, "scan: %d vulnerabilities (%d suppressed by VEX) in %d packages; %d packages in ecosystems the database does not cover\n",
		len(kept), len(suppressed), len(doc.Packages), res.Unmatched)
	return &finding.Report{
		Tool:            Tool,
		Version:         o.version,
		Timestamp:       o.now().UTC().Format(time.RFC3339),
		Subject:         subject,
		Database:        dbDir,
		Packages:        doc.Packages,
		Unmatched:       res.Unmatched + doc.Skipped,
		Vulnerabilities: kept,
		Suppressed:      suppressed,
	}, nil
}

// Config checks the Containerfiles and Kubernetes/Tekton YAML under dir.
func Config(dir string, opts ...Option) (*finding.Report, error) {
	o := makeOptions(opts)
	res, err := misconfig.Dir(dir)
	if err != nil {
		return nil, err
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(o.progress, "scan: skipped (not parseable): %s\n", s)
	}
	fmt.Fprintf(o.progress, "scan: %d misconfigurations in %d files under %s\n", len(res.Findings), res.Files, dir)
	return &finding.Report{
		Tool:              Tool,
		Version:           o.version,
		Timestamp:         o.now().UTC().Format(time.RFC3339),
		Subject:           dir,
		Misconfigurations: res.Findings,
		Rules:             misconfig.Rules,
	}, nil
}

// Counts are findings by severity.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
}

func (c *Counts) add(r cvss.Rating) {
	switch r {
	case cvss.Critical:
		c.Critical++
	case cvss.High:
		c.High++
	case cvss.Medium:
		c.Medium++
	case cvss.Low, cvss.None:
		c.Low++
	default:
		c.Unknown++
	}
}

// ScanOutput is the SCAN_OUTPUT result, in the shape of Konflux's
// clair-scan: "vulnerabilities" counts findings with a fixed version
// (patched upstream: upgrading fixes them), "unpatched_vulnerabilities"
// those without one; suppressed findings are counted apart. A config scan
// fills "misconfigurations".
type ScanOutput struct {
	Vulnerabilities   *Counts `json:"vulnerabilities,omitempty"`
	Unpatched         *Counts `json:"unpatched_vulnerabilities,omitempty"`
	Suppressed        int     `json:"suppressed"`
	Misconfigurations *Counts `json:"misconfigurations,omitempty"`
}

// Summarize computes SCAN_OUTPUT.
func Summarize(r *finding.Report) ScanOutput {
	var out ScanOutput
	if len(r.Rules) > 0 || len(r.Misconfigurations) > 0 {
		out.Misconfigurations = &Counts{}
		for _, m := range r.Misconfigurations {
			out.Misconfigurations.add(m.Severity)
		}
		return out
	}
	out.Vulnerabilities, out.Unpatched = &Counts{}, &Counts{}
	for _, v := range r.Vulnerabilities {
		if v.Patched() {
			out.Vulnerabilities.add(v.Severity)
		} else {
			out.Unpatched.add(v.Severity)
		}
	}
	out.Suppressed = len(r.Suppressed)
	return out
}

// Judge computes TEST_OUTPUT: findings at or above failOn are failures,
// other findings warnings. failOn "" never fails (findings only warn).
// successes counts the packages (or configuration rules) with no finding.
func Judge(r *finding.Report, failOn cvss.Rating) results.TestOutput {
	out := results.TestOutput{Timestamp: r.Timestamp, Namespace: "default"}
	gate := func(s cvss.Rating) {
		if failOn != "" && s.Rank() >= failOn.Rank() {
			out.Failures++
		} else {
			out.Warnings++
		}
	}
	if len(r.Rules) > 0 || len(r.Misconfigurations) > 0 {
		hit := map[string]bool{}
		for _, m := range r.Misconfigurations {
			gate(m.Severity)
			hit[m.RuleID] = true
		}
		out.Successes = len(r.Rules) - len(hit)
	} else {
		affected := map[string]bool{}
		for _, v := range r.Vulnerabilities {
			gate(v.Severity)
			affected[v.Package.Ecosystem+"\x00"+v.Package.Name+"\x00"+v.Package.Version] = true
		}
		out.Successes = len(r.Packages) - len(affected)
		if out.Successes < 0 {
			out.Successes = 0
		}
	}
	threshold := "no threshold set"
	if failOn != "" {
		threshold = fmt.Sprintf("failing on %s or above", failOn)
	}
	switch {
	case out.Failures > 0:
		out.Result = results.Failure
	case out.Warnings > 0:
		out.Result = results.Warning
	default:
		out.Result = results.Success
	}
	what := "vulnerabilities"
	if len(r.Rules) > 0 {
		what = "misconfigurations"
	}
	out.Note = fmt.Sprintf("Task scan completed: %d %s at or above the threshold, %d below it (%s)",
		out.Failures, what, out.Warnings, threshold)
	if n := len(r.Suppressed); n > 0 {
		out.Note += fmt.Sprintf("; %d suppressed by VEX", n)
	}
	out.Note += ". Refer to the SCAN_OUTPUT result and the report for details."
	return out
}

// ErrorOutput is TEST_OUTPUT for a scan that could not run.
func ErrorOutput(err error, now time.Time) results.TestOutput {
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return results.TestOutput{
		Result:    results.Error,
		Timestamp: now.UTC().Format(time.RFC3339),
		Note:      "Task scan failed: " + strings.TrimSpace(msg),
		Namespace: "default",
	}
}
