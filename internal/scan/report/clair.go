package report

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// ClairMediaType is the media type of a Clair report attached to an image
// (Konflux's clair-scan attaches it as an OCI referrer with this artifact
// type, and Conforma's cve rules read layers of this type).
const ClairMediaType = "application/vnd.redhat.clair-report+json"

// The parts of Clair v4's VulnerabilityReport that consumers read:
// packages, vulnerabilities (each naming its package) and which package
// has which. IDs are decimal strings, as Clair's are.
type clairReport struct {
	ManifestHash           string                        `json:"manifest_hash"`
	Packages               map[string]clairPackage       `json:"packages"`
	Vulnerabilities        map[string]clairVulnerability `json:"vulnerabilities"`
	PackageVulnerabilities map[string][]string           `json:"package_vulnerabilities"`
	Enrichments            map[string]any                `json:"enrichments"`
}

type clairPackage struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	Source  *struct {
		Name string `json:"name"`
	} `json:"source,omitempty"`
}

type clairVulnerability struct {
	ID                 string       `json:"id"`
	Updater            string       `json:"updater"`
	Name               string       `json:"name"`
	Description        string       `json:"description"`
	Links              string       `json:"links"`
	Severity           string       `json:"severity"`
	NormalizedSeverity string       `json:"normalized_severity"`
	Package            clairPackage `json:"package"`
	FixedInVersion     string       `json:"fixed_in_version"`
}

// clairSeverity is Clair's normalized severity. A rating of "none" (a
// CVSS score of 0) is Low, as SCAN_OUTPUT counts it.
func clairSeverity(r cvss.Rating) string {
	switch r {
	case cvss.Critical:
		return "Critical"
	case cvss.High:
		return "High"
	case cvss.Medium:
		return "Medium"
	case cvss.Low, cvss.None:
		return "Low"
	}
	return "Unknown"
}

// Clair writes the vulnerabilities of a report in the shape of a Clair v4
// vulnerability report, the document Konflux's clair-scan attaches to an
// image and Conforma's cve rules read: "vulnerabilities" maps an id to
// the advisory's "name", "normalized_severity" (Critical, High, Medium,
// Low, Unknown) and "fixed_in_version" (empty when no fix is known, which
// makes it unpatched). Findings a VEX statement suppressed are left out,
// as SCAN_OUTPUT leaves them out of its counts. A configuration scan has
// no Clair form.
func Clair(w io.Writer, r *finding.Report) error {
	if len(r.Rules) > 0 || len(r.Misconfigurations) > 0 {
		return errors.New("the clair format holds vulnerabilities; a configuration scan has none")
	}
	out := clairReport{
		Packages:               map[string]clairPackage{},
		Vulnerabilities:        map[string]clairVulnerability{},
		PackageVulnerabilities: map[string][]string{},
		Enrichments:            map[string]any{},
	}
	if _, d, ok := strings.Cut(r.Subject, "@"); ok && strings.HasPrefix(d, "sha256:") {
		out.ManifestHash = d
	}
	pkgID := map[string]string{}
	pkg := func(p finding.Package) clairPackage {
		key := p.Ecosystem + "\x00" + p.Name + "\x00" + p.Version
		id, ok := pkgID[key]
		if !ok {
			id = strconv.Itoa(len(pkgID) + 1)
			pkgID[key] = id
			cp := clairPackage{ID: id, Name: p.Name, Version: p.Version, Kind: "binary"}
			if p.Source != "" {
				cp.Source = &struct {
					Name string `json:"name"`
				}{p.Source}
			}
			out.Packages[id] = cp
		}
		return out.Packages[id]
	}
	for i, v := range r.Vulnerabilities {
		id := strconv.Itoa(i + 1)
		p := pkg(v.Package)
		out.Vulnerabilities[id] = clairVulnerability{
			ID:                 id,
			Updater:            "osv",
			Name:               v.ID,
			Description:        v.Summary,
			Links:              v.URL,
			Severity:           string(v.Severity),
			NormalizedSeverity: clairSeverity(v.Severity),
			Package:            p,
			FixedInVersion:     v.FixedVersion,
		}
		out.PackageVulnerabilities[p.ID] = append(out.PackageVulnerabilities[p.ID], id)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
