// Package report writes a scan's findings as a table for people, JSON,
// SARIF 2.1.0, or a CycloneDX 1.6 BOM with vulnerabilities (VEX-ready).
// Every format is written from a finding.Report; ReadJSON reads the JSON
// format back, so a report can be replayed into any other.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// Formats lists the output formats by name.
var Formats = []string{"table", "json", "sarif", "cyclonedx"}

// Write writes r in format to w.
func Write(w io.Writer, format string, r *finding.Report) error {
	switch format {
	case "table":
		return Table(w, r)
	case "json":
		return JSON(w, r)
	case "sarif":
		return SARIF(w, r)
	case "cyclonedx":
		return CycloneDX(w, r)
	}
	return fmt.Errorf("output format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// JSON writes the report as indented JSON.
func JSON(w io.Writer, r *finding.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
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
