// Package finding holds what a scan produces: the packages it looked at,
// the vulnerabilities found in them (and those a VEX statement
// suppressed), and misconfigurations. Every output format is written from
// a Report, so a JSON report can be replayed into any other format.
package finding

import "github.com/trustline-dev/trustline/internal/scan/cvss"

// Package is one package read from an SBOM.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem,omitempty"` // OSV ecosystem, with release for OS packages ("AlmaLinux:9")
	PURL      string `json:"purl,omitempty"`
	Source    string `json:"source,omitempty"` // source package of an OS package (RPM upstream, Debian source)
	BOMRef    string `json:"bomRef,omitempty"`
	// GOOS is the target OS of a Go binary when the SBOM records it
	// (syft's goBuildSettings); platform-specific Go advisories are
	// matched against it as govulncheck does.
	GOOS string `json:"goos,omitempty"`
}

// Vulnerability is one advisory found in one package. An advisory known
// under several ids appears once, with the others in Aliases.
type Vulnerability struct {
	ID           string      `json:"id"`
	Aliases      []string    `json:"aliases,omitempty"`
	Package      Package     `json:"package"`
	Severity     cvss.Rating `json:"severity"`
	Score        float64     `json:"score,omitempty"`
	Vector       string      `json:"vector,omitempty"`
	FixedVersion string      `json:"fixedVersion,omitempty"` // empty: no fix known
	Summary      string      `json:"summary,omitempty"`
	URL          string      `json:"url,omitempty"`
	// Suppression is set when a VEX statement suppressed the finding.
	Suppression *Suppression `json:"suppression,omitempty"`
}

// Patched reports whether a fixed version is known.
func (v Vulnerability) Patched() bool { return v.FixedVersion != "" }

// IDs returns the id and aliases.
func (v Vulnerability) IDs() []string { return append([]string{v.ID}, v.Aliases...) }

// Suppression records the VEX statement that suppressed a finding.
type Suppression struct {
	Status        string `json:"status"` // not_affected or fixed (OpenVEX words)
	Justification string `json:"justification,omitempty"`
	Statement     string `json:"statement,omitempty"` // impact statement or detail
	Document      string `json:"document"`            // the VEX file
}

// Misconfiguration is one rule violated at one place.
type Misconfiguration struct {
	RuleID   string      `json:"ruleId"`
	Title    string      `json:"title"`
	Severity cvss.Rating `json:"severity"`
	Message  string      `json:"message"`
	File     string      `json:"file"`
	Line     int         `json:"line"`
}

// Rule describes a misconfiguration rule (for SARIF's rule table).
type Rule struct {
	ID       string      `json:"id"`
	Title    string      `json:"title"`
	Severity cvss.Rating `json:"severity"`
	Help     string      `json:"help"`
}

// Report is the whole result of a scan.
type Report struct {
	Tool      string `json:"tool"`
	Version   string `json:"version"`
	Timestamp string `json:"timestamp"`
	// Subject is what was scanned: an SBOM file, an image reference, or a
	// source directory.
	Subject  string    `json:"subject"`
	Database string    `json:"database,omitempty"`
	Packages []Package `json:"packages,omitempty"`
	// Unmatched counts SBOM packages that could not be checked (no
	// ecosystem the database covers, or no version).
	Unmatched         int                `json:"unmatched,omitempty"`
	Vulnerabilities   []Vulnerability    `json:"vulnerabilities,omitempty"`
	Suppressed        []Vulnerability    `json:"suppressed,omitempty"`
	Misconfigurations []Misconfiguration `json:"misconfigurations,omitempty"`
	Rules             []Rule             `json:"rules,omitempty"`
}
