// Package report writes a scan's findings as a table for people, JSON,
// SARIF 2.1.0, a CycloneDX 1.6 BOM with vulnerabilities (VEX-ready), or
// that BOM inside a cosign vulnerability predicate (cosign-vuln), or a
// Clair v4 vulnerability report (clair, what Conforma's cve rules read).
// Every format is written from a finding.Report; ReadJSON reads the JSON
// format back, so a report can be replayed into any other.
package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// Formats lists the output formats by name.
var Formats = []string{"table", "json", "sarif", "cyclonedx", "cosign-vuln", "clair"}

// writers are the formats' writers, by name.
var writers = map[string]func(io.Writer, *finding.Report) error{
	"table":       Table,
	"json":        JSON,
	"sarif":       SARIF,
	"cyclonedx":   CycloneDX,
	"cosign-vuln": CosignVuln,
	"clair":       Clair,
}

// Write writes r in format to w.
func Write(w io.Writer, format string, r *finding.Report) error {
	write, ok := writers[format]
	if !ok {
		return fmt.Errorf("output format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	return write(w, r)
}

// JSON writes the report as JSON with one array element per line:
// readable and diffable, and several times cheaper than re-indenting a
// report of thousands of findings (which took a third of a scan's CPU).
func JSON(w io.Writer, r *finding.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	first := true
	field := func(name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		sep := ",\n"
		if first {
			sep, first = "{\n", false
		}
		fmt.Fprintf(bw, "%s  %q: %s", sep, name, b)
		return nil
	}
	list := func(name string, n int, item func(int) any) error {
		if n == 0 {
			return nil
		}
		sep := ",\n"
		if first {
			sep, first = "{\n", false
		}
		fmt.Fprintf(bw, "%s  %q: [", sep, name)
		for i := range n {
			b, err := json.Marshal(item(i))
			if err != nil {
				return err
			}
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			bw.Write(b)
		}
		bw.WriteString("\n  ]")
		return nil
	}
	errs := []error{
		field("tool", r.Tool), field("version", r.Version), field("timestamp", r.Timestamp), field("subject", r.Subject),
	}
	if r.Database != "" {
		errs = append(errs, field("database", r.Database))
	}
	errs = append(errs, list("packages", len(r.Packages), func(i int) any { return r.Packages[i] }))
	if r.Unmatched != 0 {
		errs = append(errs, field("unmatched", r.Unmatched))
	}
	errs = append(errs,
		list("vulnerabilities", len(r.Vulnerabilities), func(i int) any { return r.Vulnerabilities[i] }),
		list("suppressed", len(r.Suppressed), func(i int) any { return r.Suppressed[i] }),
		list("misconfigurations", len(r.Misconfigurations), func(i int) any { return r.Misconfigurations[i] }),
		list("rules", len(r.Rules), func(i int) any { return r.Rules[i] }),
	)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// ReadJSON reads a report written by JSON.
func ReadJSON(rd io.Reader) (*finding.Report, error) {
	var r finding.Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("scan report: %w", err)
	}
	return &r, nil
}

// Sorted returns vulnerabilities by severity (highest first), then
// package and id, for stable output.
func Sorted(vs []finding.Vulnerability) []finding.Vulnerability {
	out := append([]finding.Vulnerability(nil), vs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		if a.Package.Version != b.Package.Version {
			return a.Package.Version < b.Package.Version
		}
		return a.ID < b.ID
	})
	return out
}

// Table writes a table for people.
func Table(w io.Writer, r *finding.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Packages) > 0 || len(r.Vulnerabilities) > 0 || len(r.Suppressed) > 0 {
		if len(r.Vulnerabilities) == 0 {
			fmt.Fprintf(tw, "No vulnerabilities found in %d packages.\n", len(r.Packages))
		} else {
			fmt.Fprintln(tw, "PACKAGE\tVERSION\tECOSYSTEM\tVULNERABILITY\tSEVERITY\tFIXED IN\tALIASES")
			for _, v := range Sorted(r.Vulnerabilities) {
				fixed := v.FixedVersion
				if fixed == "" {
					fixed = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Package.Name, v.Package.Version, v.Package.Ecosystem,
					v.ID, v.Severity, fixed, strings.Join(v.Aliases, ","))
			}
		}
		if len(r.Suppressed) > 0 {
			fmt.Fprintln(tw, "\nSUPPRESSED BY VEX\tVERSION\tVULNERABILITY\tSTATUS\tJUSTIFICATION\tDOCUMENT")
			for _, v := range Sorted(r.Suppressed) {
				s := v.Suppression
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Package.Name, v.Package.Version, v.ID, s.Status,
					firstNonEmpty(s.Justification, s.Statement, "-"), s.Document)
			}
		}
	}
	if len(r.Misconfigurations) > 0 {
		fmt.Fprintln(tw, "RULE\tSEVERITY\tLOCATION\tMESSAGE")
		for _, m := range r.Misconfigurations {
			msg := strings.TrimPrefix(m.Message, fmt.Sprintf("%s:%d: ", m.File, m.Line))
			fmt.Fprintf(tw, "%s\t%s\t%s:%d\t%s\n", m.RuleID, m.Severity, m.File, m.Line, msg)
		}
	}
	return tw.Flush()
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
