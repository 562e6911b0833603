package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// SARIF 2.1.0, the subset code-scanning tools read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	ShortDescription sarifText      `json:"shortDescription"`
	FullDescription  *sarifText     `json:"fullDescription,omitempty"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Help             *sarifText     `json:"help,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Suppressed []sarifSuppress `json:"suppressions,omitempty"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifSuppress struct {
	Kind          string `json:"kind"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind,omitempty"`
}

func level(r cvss.Rating) string {
	switch r {
	case cvss.Critical, cvss.High:
		return "error"
	case cvss.Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the number GitHub code scanning sorts by.
func securitySeverity(r cvss.Rating, score float64) string {
	if score > 0 {
		return fmt.Sprintf("%.1f", score)
	}
	switch r {
	case cvss.Critical:
		return "9.5"
	case cvss.High:
		return "8.0"
	case cvss.Medium:
		return "5.5"
	case cvss.Low:
		return "2.0"
	}
	return "0.0"
}

// SARIF writes SARIF 2.1.0: one rule per advisory or misconfiguration
// rule, one result per finding. Vulnerabilities are located in the
// scanned subject (the SBOM or image), with the package as a logical
// location; misconfigurations at their file and line.
func SARIF(w io.Writer, r *finding.Report) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{
		Name: r.Tool, Version: r.Version, InformationURI: "https://github.com/trustline-dev/trustline",
		Rules: []sarifRule{},
	}}, Results: []sarifResult{}}
	ruleIndex := map[string]int{}
	addRule := func(rule sarifRule) int {
		if i, ok := ruleIndex[rule.ID]; ok {
			return i
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
		ruleIndex[rule.ID] = len(run.Tool.Driver.Rules) - 1
		return ruleIndex[rule.ID]
	}
	vulnResult := func(v finding.Vulnerability) sarifResult {
		short := v.Summary
		if short == "" {
			short = v.ID
		}
		idx := addRule(sarifRule{
			ID: v.ID, Name: v.ID, ShortDescription: sarifText{Text: short}, HelpURI: v.URL,
			Help: &sarifText{Text: fixText(v)},
			Properties: map[string]any{"security-severity": securitySeverity(v.Severity, v.Score),
				"tags": []string{"security", "vulnerability", string(v.Severity)}, "aliases": v.Aliases},
		})
		msg := fmt.Sprintf("%s %s (%s) is affected by %s (%s). %s", v.Package.Name, v.Package.Version, v.Package.Ecosystem, v.ID, v.Severity, fixText(v))
		res := sarifResult{RuleID: v.ID, RuleIndex: idx, Level: level(v.Severity), Message: sarifText{Text: msg},
			Locations: []sarifLocation{{
				PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: subjectURI(r.Subject)}},
				LogicalLocations: []sarifLogical{{Name: v.Package.Name, FullyQualifiedName: firstNonEmpty(v.Package.PURL, v.Package.Name), Kind: "package"}},
			}},
			Properties: map[string]any{"package": v.Package.Name, "version": v.Package.Version, "purl": v.Package.PURL, "fixedVersion": v.FixedVersion},
		}
		if s := v.Suppression; s != nil {
			res.Suppressed = []sarifSuppress{{Kind: "external", Status: "accepted",
				Justification: fmt.Sprintf("%s: %s (%s)", s.Status, firstNonEmpty(s.Justification, s.Statement), s.Document)}}
		}
		return res
	}
	for _, v := range Sorted(r.Vulnerabilities) {
		run.Results = append(run.Results, vulnResult(v))
	}
	for _, v := range Sorted(r.Suppressed) {
		run.Results = append(run.Results, vulnResult(v))
	}
	rules := append([]finding.Rule(nil), r.Rules...)
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	for _, rule := range rules {
		addRule(sarifRule{ID: rule.ID, Name: rule.Title, ShortDescription: sarifText{Text: rule.Title},
			FullDescription: &sarifText{Text: rule.Help}, Help: &sarifText{Text: rule.Help},
			Properties: map[string]any{"security-severity": securitySeverity(rule.Severity, 0), "tags": []string{"security", "misconfiguration", string(rule.Severity)}}})
	}
	for _, m := range r.Misconfigurations {
		idx := addRule(sarifRule{ID: m.RuleID, Name: m.Title, ShortDescription: sarifText{Text: m.Title},
			Properties: map[string]any{"security-severity": securitySeverity(m.Severity, 0)}})
		loc := sarifLocation{PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: m.File}}}
		if m.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: m.Line}
		}
		run.Results = append(run.Results, sarifResult{RuleID: m.RuleID, RuleIndex: idx, Level: level(m.Severity),
			Message: sarifText{Text: m.Message}, Locations: []sarifLocation{loc}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

func fixText(v finding.Vulnerability) string {
	if v.FixedVersion != "" {
		return fmt.Sprintf("Fixed in %s %s.", v.Package.Name, v.FixedVersion)
	}
	return "No fixed version is known."
}

// subjectURI makes the scanned subject usable as a SARIF artifact URI.
func subjectURI(s string) string {
	if s == "" {
		return "sbom"
	}
	return s
}
