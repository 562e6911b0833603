// Package vex reads VEX documents (OpenVEX, and CycloneDX VEX) and applies
// their statements to scan findings: "not_affected" and "fixed" suppress a
// finding, keeping the justification in the report; "affected" and
// "under_investigation" leave it in place.
package vex

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	packageurl "github.com/anchore/packageurl-go"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// Status values, in OpenVEX's words.
const (
	NotAffected        = "not_affected"
	Affected           = "affected"
	Fixed              = "fixed"
	UnderInvestigation = "under_investigation"
)

// Statement is one VEX statement, normalised from either format.
type Statement struct {
	IDs           []string // vulnerability id and aliases
	Products      []string // PURLs or bom-refs; empty: every package
	Status        string
	Justification string
	Detail        string
	Document      string
}

// ErrUnknownFormat is returned for a document that is neither OpenVEX nor
// CycloneDX.
var ErrUnknownFormat = errors.New("not an OpenVEX or CycloneDX VEX document")

// Parse reads one VEX document; name is used in errors and in the report.
func Parse(name string, data []byte) ([]Statement, error) {
	var probe struct {
		Context   any    `json:"@context"`
		BOMFormat string `json:"bomFormat"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("VEX document %s: %w", name, err)
	}
	ctx, _ := probe.Context.(string)
	switch {
	case strings.HasPrefix(ctx, "https://openvex.dev/ns"):
		return parseOpenVEX(name, data)
	case probe.BOMFormat == "CycloneDX":
		return parseCycloneDX(name, data)
	}
	return nil, fmt.Errorf("VEX document %s: %w", name, ErrUnknownFormat)
}

// flexible accepts an OpenVEX field that is a string (v0.0.1) or an
// object with "@id"/"name" (v0.2.0).
type flexible struct {
	ID            string
	Aliases       []string
	Subcomponents []string
}

func (f *flexible) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		f.ID = s
		return nil
	}
	var o struct {
		ID            string `json:"@id"`
		Name          string `json:"name"`
		Aliases       []string
		Identifiers   map[string]string `json:"identifiers"`
		Subcomponents []flexible        `json:"subcomponents"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	f.ID = o.ID
	if o.Name != "" {
		if f.ID != "" && !strings.Contains(f.ID, "://") {
			f.Aliases = append(f.Aliases, f.ID)
		}
		f.ID = o.Name
	}
	f.Aliases = append(f.Aliases, o.Aliases...)
	if p := o.Identifiers["purl"]; p != "" {
		f.Aliases = append(f.Aliases, p)
	}
	for _, s := range o.Subcomponents {
		f.Subcomponents = append(f.Subcomponents, s.ID)
		f.Subcomponents = append(f.Subcomponents, s.Aliases...)
	}
	return nil
}

func parseOpenVEX(name string, data []byte) ([]Statement, error) {
	var doc struct {
		Statements []struct {
			Vulnerability   flexible   `json:"vulnerability"`
			Products        []flexible `json:"products"`
			Subcomponents   []flexible `json:"subcomponents"`
			Status          string     `json:"status"`
			Justification   string     `json:"justification"`
			ImpactStatement string     `json:"impact_statement"`
			StatusNotes     string     `json:"status_notes"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("OpenVEX document %s: %w", name, err)
	}
	var out []Statement
	for i, s := range doc.Statements {
		if s.Vulnerability.ID == "" {
			return nil, fmt.Errorf("OpenVEX document %s: statements[%d].vulnerability has no name", name, i)
		}
		switch s.Status {
		case NotAffected, Affected, Fixed, UnderInvestigation:
		default:
			return nil, fmt.Errorf("OpenVEX document %s: statements[%d].status %q is not one of not_affected, affected, fixed, under_investigation", name, i, s.Status)
		}
		if s.Status == NotAffected && s.Justification == "" && s.ImpactStatement == "" {
			return nil, fmt.Errorf("OpenVEX document %s: statements[%d] says not_affected without a justification or impact_statement", name, i)
		}
		st := Statement{
			IDs:           append([]string{s.Vulnerability.ID}, s.Vulnerability.Aliases...),
			Status:        s.Status,
			Justification: s.Justification,
			Detail:        firstNonEmpty(s.ImpactStatement, s.StatusNotes),
			Document:      name,
		}
		// Subcomponents name the packages; products without them name
		// the packages themselves or the whole image.
		var subs []string
		for _, p := range s.Products {
			subs = append(subs, p.Subcomponents...)
		}
		for _, p := range s.Subcomponents {
			subs = append(subs, p.ID)
			subs = append(subs, p.Aliases...)
		}
		if len(subs) > 0 {
			st.Products = subs
		} else {
			for _, p := range s.Products {
				if isPackagePURL(p.ID) {
					st.Products = append(st.Products, p.ID)
				}
				for _, a := range p.Aliases {
					if isPackagePURL(a) {
						st.Products = append(st.Products, a)
					}
				}
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// isPackagePURL tells a package PURL from one naming the image itself
// (pkg:oci, pkg:docker), which covers every package in it.
func isPackagePURL(s string) bool {
	return strings.HasPrefix(s, "pkg:") && !strings.HasPrefix(s, "pkg:oci/") && !strings.HasPrefix(s, "pkg:docker/")
}

func parseCycloneDX(name string, data []byte) ([]Statement, error) {
	var doc struct {
		Components []struct {
			BOMRef string `json:"bom-ref"`
			PURL   string `json:"purl"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID         string `json:"id"`
			References []struct {
				ID string `json:"id"`
			} `json:"references"`
			Analysis *struct {
				State         string `json:"state"`
				Justification string `json:"justification"`
				Detail        string `json:"detail"`
			} `json:"analysis"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("CycloneDX VEX document %s: %w", name, err)
	}
	purlOf := map[string]string{}
	for _, c := range doc.Components {
		if c.BOMRef != "" && c.PURL != "" {
			purlOf[c.BOMRef] = c.PURL
		}
	}
	var out []Statement
	for i, v := range doc.Vulnerabilities {
		if v.ID == "" {
			return nil, fmt.Errorf("CycloneDX VEX document %s: vulnerabilities[%d].id is empty", name, i)
		}
		if v.Analysis == nil || v.Analysis.State == "" {
			continue // a plain finding, not a VEX statement
		}
		st := Statement{IDs: []string{v.ID}, Justification: v.Analysis.Justification, Detail: v.Analysis.Detail, Document: name}
		for _, r := range v.References {
			st.IDs = append(st.IDs, r.ID)
		}
		switch v.Analysis.State {
		case "not_affected", "false_positive":
			st.Status = NotAffected
		case "resolved", "resolved_with_pedigree":
			st.Status = Fixed
		case "exploitable":
			st.Status = Affected
		case "in_triage":
			st.Status = UnderInvestigation
		default:
			return nil, fmt.Errorf("CycloneDX VEX document %s: vulnerabilities[%d].analysis.state %q is not a CycloneDX impact state", name, i, v.Analysis.State)
		}
		for _, a := range v.Affects {
			ref := a.Ref
			// A BOM-Link "urn:cdx:<serial>/<version>#<bom-ref>" points at a
			// component of another BOM (the SBOM scanned).
			if strings.HasPrefix(ref, "urn:cdx:") {
				if _, frag, ok := strings.Cut(ref, "#"); ok {
					ref = frag
				}
			}
			st.Products = append(st.Products, ref)
			if p, ok := purlOf[ref]; ok {
				st.Products = append(st.Products, p)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Apply splits findings into those kept and those suppressed. When
// several statements cover a finding, the last one (in document order,
// documents in the order given) decides.
func Apply(stmts []Statement, vulns []finding.Vulnerability) (kept, suppressed []finding.Vulnerability) {
	for _, v := range vulns {
		var decided *Statement
		for i := range stmts {
			s := &stmts[i]
			if s.covers(v) {
				decided = s
			}
		}
		if decided != nil && (decided.Status == NotAffected || decided.Status == Fixed) {
			v.Suppression = &finding.Suppression{
				Status:        decided.Status,
				Justification: decided.Justification,
				Statement:     decided.Detail,
				Document:      decided.Document,
			}
			suppressed = append(suppressed, v)
			continue
		}
		kept = append(kept, v)
	}
	return kept, suppressed
}

func (s *Statement) covers(v finding.Vulnerability) bool {
	idMatch := false
	for _, a := range s.IDs {
		for _, b := range v.IDs() {
			if strings.EqualFold(a, b) {
				idMatch = true
			}
		}
	}
	if !idMatch {
		return false
	}
	if len(s.Products) == 0 {
		return true
	}
	for _, p := range s.Products {
		if p == v.Package.BOMRef && p != "" {
			return true
		}
		if samePackage(p, v.Package.PURL) {
			return true
		}
	}
	return false
}

// samePackage compares PURLs by type, namespace and name, and by version
// when the statement gives one; qualifiers are ignored (syft adds arch and
// distro qualifiers a VEX author rarely repeats).
func samePackage(stmt, pkg string) bool {
	if stmt == "" || pkg == "" {
		return false
	}
	a, err := packageurl.FromString(stmt)
	if err != nil {
		return false
	}
	b, err := packageurl.FromString(pkg)
	if err != nil {
		return false
	}
	if a.Type != b.Type || !strings.EqualFold(a.Namespace, b.Namespace) || a.Name != b.Name {
		return false
	}
	return a.Version == "" || strings.TrimPrefix(a.Version, "v") == strings.TrimPrefix(b.Version, "v")
}
