package report

import (
	"fmt"
	"io"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// CycloneDX writes a CycloneDX 1.6 BOM: the affected packages as
// components and every finding as a vulnerability with its aliases,
// ratings and affected component. Suppressed findings carry the VEX
// analysis (state, justification, detail), so the document is itself a
// VEX.
func CycloneDX(w io.Writer, r *finding.Report) error {
	bom := newBOM(r)
	cs := bomComponents{refs: map[string]string{}}
	var vulns []cdx.Vulnerability
	for _, vs := range [][]finding.Vulnerability{r.Vulnerabilities, r.Suppressed} {
		for _, v := range Sorted(vs) {
			vulns = append(vulns, cdxVulnerability(v, cs.ref(v.Package)))
		}
	}
	// Packages without findings are listed too: a later VEX may point at
	// any of them.
	for _, p := range r.Packages {
		cs.ref(p)
	}
	bom.Components = &cs.list
	bom.Vulnerabilities = &vulns
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	return enc.EncodeVersion(bom, cdx.SpecVersion1_6)
}

// newBOM returns the BOM of r without components or vulnerabilities.
func newBOM(r *finding.Report) *cdx.BOM {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.Metadata = &cdx.Metadata{
		Timestamp: r.Timestamp,
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: r.Tool, Version: r.Version,
		}}},
	}
	if r.Subject != "" {
		bom.Metadata.Component = &cdx.Component{Type: subjectType(r.Subject), Name: r.Subject, BOMRef: "subject"}
	}
	return bom
}

// bomComponents lists each package once, in the order first referred to.
type bomComponents struct {
	refs map[string]string // package key → bom-ref
	list []cdx.Component
}

// ref returns the bom-ref of p's component, listing it if it is new.
func (cs *bomComponents) ref(p finding.Package) string {
	key := p.Ecosystem + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.PURL
	if r, ok := cs.refs[key]; ok {
		return r
	}
	br := p.BOMRef
	if br == "" || bomRefTaken(cs.refs, br) {
		br = fmt.Sprintf("pkg-%d", len(cs.refs)+1)
	}
	cs.refs[key] = br
	c := cdx.Component{BOMRef: br, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: p.PURL}
	if p.Ecosystem != "" {
		c.Properties = &[]cdx.Property{{Name: "trustline:osv:ecosystem", Value: p.Ecosystem}}
	}
	cs.list = append(cs.list, c)
	return br
}

// cdxVulnerability is v affecting the component whose bom-ref is ref.
func cdxVulnerability(v finding.Vulnerability, ref string) cdx.Vulnerability {
	cv := cdx.Vulnerability{
		BOMRef:      fmt.Sprintf("%s@%s", v.ID, ref),
		ID:          v.ID,
		Source:      source(v.ID, v.URL),
		Description: v.Summary,
		Affects:     &[]cdx.Affects{{Ref: ref}},
	}
	if len(v.Aliases) > 0 {
		var rs []cdx.VulnerabilityReference
		for _, a := range v.Aliases {
			rs = append(rs, cdx.VulnerabilityReference{ID: a, Source: source(a, "")})
		}
		cv.References = &rs
	}
	cv.Ratings = &[]cdx.VulnerabilityRating{cdxRating(v)}
	if v.FixedVersion != "" {
		cv.Recommendation = fmt.Sprintf("Upgrade %s to %s or later.", v.Package.Name, v.FixedVersion)
	}
	if v.URL != "" {
		cv.Advisories = &[]cdx.Advisory{{URL: v.URL}}
	}
	if s := v.Suppression; s != nil {
		cv.Analysis = cdxAnalysis(s)
	}
	return cv
}

// cdxRating is v's severity, with its CVSS score and method when it has a
// vector.
func cdxRating(v finding.Vulnerability) cdx.VulnerabilityRating {
	rating := cdx.VulnerabilityRating{Severity: cdxSeverity(v.Severity), Method: cdx.ScoringMethodOther}
	if v.Vector != "" {
		score := v.Score
		rating.Score, rating.Vector = &score, v.Vector
		switch {
		case strings.HasPrefix(v.Vector, "CVSS:4.0/"):
			rating.Method = cdx.ScoringMethodCVSSv4
		case strings.HasPrefix(v.Vector, "CVSS:3.1/"):
			rating.Method = cdx.ScoringMethodCVSSv31
		default:
			rating.Method = cdx.ScoringMethodCVSSv3
		}
	}
	return rating
}

// cdxAnalysis is the VEX analysis of a suppressed finding. A justification
// CycloneDX has no word for is kept in the detail.
func cdxAnalysis(s *finding.Suppression) *cdx.VulnerabilityAnalysis {
	a := &cdx.VulnerabilityAnalysis{State: cdx.IASNotAffected, Justification: justification(s.Justification)}
	if s.Status == "fixed" {
		a.State, a.Justification = cdx.IASResolved, ""
	}
	detail := s.Statement
	if a.Justification == "" && s.Justification != "" {
		detail = strings.TrimSpace(s.Justification + ": " + detail)
	}
	a.Detail = strings.TrimSpace(fmt.Sprintf("%s (VEX: %s)", detail, s.Document))
	return a
}

func bomRefTaken(refs map[string]string, br string) bool {
	for _, r := range refs {
		if r == br {
			return true
		}
	}
	return false
}

func subjectType(s string) cdx.ComponentType {
	if strings.Contains(s, "@sha256:") || strings.Contains(s, ":") && !strings.HasSuffix(s, ".json") {
		return cdx.ComponentTypeContainer
	}
	return cdx.ComponentTypeApplication
}

func source(id, url string) *cdx.Source {
	name := "OSV"
	switch {
	case strings.HasPrefix(id, "CVE-"):
		name, url = "NVD", firstNonEmpty(url, "https://nvd.nist.gov/vuln/detail/"+id)
	case strings.HasPrefix(id, "GHSA-"):
		name, url = "GitHub", firstNonEmpty(url, "https://github.com/advisories/"+id)
	case strings.HasPrefix(id, "GO-"):
		name, url = "Go Vulnerability Database", firstNonEmpty(url, "https://pkg.go.dev/vuln/"+id)
	case strings.HasPrefix(id, "RUSTSEC-"):
		name, url = "RustSec", firstNonEmpty(url, "https://rustsec.org/advisories/"+id)
	case strings.HasPrefix(id, "ALSA-"), strings.HasPrefix(id, "ALBA-"), strings.HasPrefix(id, "ALEA-"):
		name = "AlmaLinux"
	}
	return &cdx.Source{Name: name, URL: url}
}

func cdxSeverity(r cvss.Rating) cdx.Severity {
	switch r {
	case cvss.Critical:
		return cdx.SeverityCritical
	case cvss.High:
		return cdx.SeverityHigh
	case cvss.Medium:
		return cdx.SeverityMedium
	case cvss.Low:
		return cdx.SeverityLow
	case cvss.None:
		return cdx.SeverityNone
	}
	return cdx.SeverityUnknown
}

// justification maps OpenVEX justifications to CycloneDX's; CycloneDX
// words pass through. Others are kept in the analysis detail.
func justification(j string) cdx.ImpactAnalysisJustification {
	switch j {
	case "component_not_present", "vulnerable_code_not_present":
		return cdx.IAJCodeNotPresent
	case "vulnerable_code_not_in_execute_path":
		return cdx.IAJCodeNotReachable
	case "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist":
		return cdx.IAJProtectedByMitigatingControl
	}
	switch cdx.ImpactAnalysisJustification(j) {
	case cdx.IAJCodeNotPresent, cdx.IAJCodeNotReachable, cdx.IAJRequiresConfiguration, cdx.IAJRequiresDependency,
		cdx.IAJRequiresEnvironment, cdx.IAJProtectedByCompiler, cdx.IAJProtectedAtRuntime, cdx.IAJProtectedAtPerimeter,
		cdx.IAJProtectedByMitigatingControl:
		return cdx.ImpactAnalysisJustification(j)
	}
	return ""
}
