// Package inventory is trustline's one reader of SBOM documents (CycloneDX
// or SPDX JSON, bare or wrapped in an in-toto statement or DSSE envelope).
// It returns what the document lists as it lists it (Components, Subject),
// and the packages named by their OSV ecosystem that the scan matches,
// reading versions the way SBOM writers spell them:
// syft gives Go's standard library the component version "go1.26.8" and
// the PURL version "1.26.8"; RPM epochs sit in the version or in an
// "epoch" qualifier; the distribution release sits in a "distro"
// qualifier or in the SBOM's operating-system component.
package inventory

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	packageurl "github.com/anchore/packageurl-go"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// Format names an SBOM format.
type Format string

// The formats Decode understands.
const (
	CycloneDX Format = "cyclonedx"
	SPDX      Format = "spdx"
)

// ErrUnknownFormat is returned for JSON that is neither CycloneDX nor SPDX.
var ErrUnknownFormat = errors.New("not a CycloneDX or SPDX JSON document")

// SBOM is what Decode read.
type SBOM struct {
	Format Format
	// Subject is the PURL of what the SBOM describes (CycloneDX's
	// metadata.component, the package SPDX's document DESCRIBES): for an
	// image, pkg:oci/<name>@sha256:…
	Subject string
	// Components are the packages the document lists, in its order and
	// as it names them, whether or not an ecosystem is known for them;
	// files and the described subject itself are not components.
	Components []Component
	// Packages are the components named by their OSV ecosystem, for
	// matching against advisories.
	Packages []finding.Package
	// Skipped counts packages without a PURL or version that no
	// ecosystem could be given to.
	Skipped int
}

// Component is one package as the SBOM lists it.
type Component struct {
	Name     string
	Version  string
	PURL     string
	Type     string // CycloneDX component type, or SPDX primaryPackagePurpose
	Licenses []string
}

// Decode reads a CycloneDX or SPDX JSON SBOM.
func Decode(data []byte) (*SBOM, error) {
	data = bytes.TrimSpace(data)
	for range 3 { // envelope → statement → predicate
		inner, ok, err := unwrap(data)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		data = inner
	}
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("SBOM is not JSON: %w", err)
	}
	switch {
	case probe.BOMFormat == "CycloneDX":
		return decodeCycloneDX(data)
	case strings.HasPrefix(probe.SPDXVersion, "SPDX-"):
		return decodeSPDX(data)
	}
	return nil, ErrUnknownFormat
}

// unwrap returns the payload of a DSSE envelope or the predicate of an
// in-toto statement.
func unwrap(data []byte) ([]byte, bool, error) {
	var w struct {
		PayloadType string          `json:"payloadType"`
		Payload     string          `json:"payload"`
		Predicate   json.RawMessage `json:"predicate"`
		Type        string          `json:"_type"`
	}
	if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &w) != nil {
		return nil, false, nil
	}
	if w.PayloadType != "" && w.Payload != "" {
		b, err := base64.StdEncoding.DecodeString(w.Payload)
		if err != nil {
			return nil, false, fmt.Errorf("DSSE envelope payload: %w", err)
		}
		return b, true, nil
	}
	if strings.HasPrefix(w.Type, "https://in-toto.io/Statement/") && len(w.Predicate) > 0 {
		return w.Predicate, true, nil
	}
	return nil, false, nil
}

type cdxComponent struct {
	BOMRef     string         `json:"bom-ref"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	PURL       string         `json:"purl"`
	Properties []cdxProperty  `json:"properties"`
	Components []cdxComponent `json:"components"`
	// Licenses only describe the component, so a malformed list is
	// ignored rather than failing the scan (see lenient).
	Licenses json.RawMessage `json:"licenses"`
}

type cdxLicense struct {
	License *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"license"`
	Expression string `json:"expression"`
}

// licenses reads a CycloneDX licence list: an expression, else the SPDX
// id, else the name, of each entry.
func (c cdxComponent) licenses() []string {
	var ls []cdxLicense
	lenient(c.Licenses, &ls)
	var out []string
	for _, l := range ls {
		switch {
		case l.Expression != "":
			out = append(out, l.Expression)
		case l.License != nil && l.License.ID != "":
			out = append(out, l.License.ID)
		case l.License != nil && l.License.Name != "":
			out = append(out, l.License.Name)
		}
	}
	return out
}

// lenient decodes the fields only Components and Subject need. A
// document whose licences or relationships are malformed still names its
// packages, and the scan of those packages must not fail over them.
func lenient(raw json.RawMessage, v any) {
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, v)
	}
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func decodeCycloneDX(data []byte) (*SBOM, error) {
	var doc struct {
		Metadata struct {
			Component *cdxComponent `json:"component"`
		} `json:"metadata"`
		Components []cdxComponent `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("CycloneDX SBOM: %w", err)
	}
	var all []cdxComponent
	var walk func([]cdxComponent)
	walk = func(cs []cdxComponent) {
		for _, c := range cs {
			all = append(all, c)
			walk(c.Components)
		}
	}
	walk(doc.Components)
	s := &SBOM{Format: CycloneDX}
	if doc.Metadata.Component != nil {
		s.Subject = doc.Metadata.Component.PURL
		walk(doc.Metadata.Component.Components)
	}
	for _, c := range all {
		if c.Type != "file" && c.Name != "" {
			s.Components = append(s.Components, Component{Name: c.Name, Version: c.Version, PURL: c.PURL, Type: c.Type, Licenses: c.licenses()})
		}
	}
	// The operating-system component gives the release of OS packages
	// whose PURL lacks a distro qualifier.
	var os distro
	for _, c := range all {
		if c.Type == "operating-system" {
			os = distro{id: strings.ToLower(c.Name), version: c.Version}
			break
		}
	}
	for _, c := range all {
		if c.Type == "operating-system" || c.Type == "file" || c.PURL == "" {
			if c.Type != "operating-system" && c.Type != "file" {
				s.Skipped++
			}
			continue
		}
		p, ok := fromPURL(c.PURL, c.Name, c.Version, os)
		if !ok {
			s.Skipped++
			continue
		}
		p.BOMRef = c.BOMRef
		if p.Ecosystem == "Go" {
			p.GOOS = goos(c.Properties)
		}
		s.Packages = append(s.Packages, p)
	}
	return s, nil
}

// goos reads GOOS from syft's properties, which encode the build settings
// as "syft:metadata:goBuildSettings:<n>:key" / ":value" pairs.
func goos(props []cdxProperty) string {
	const prefix = "syft:metadata:goBuildSettings:"
	for _, p := range props {
		if strings.HasPrefix(p.Name, prefix) && strings.HasSuffix(p.Name, ":key") && p.Value == "GOOS" {
			want := strings.TrimSuffix(p.Name, ":key") + ":value"
			for _, q := range props {
				if q.Name == want {
					return q.Value
				}
			}
		}
	}
	return ""
}

func decodeSPDX(data []byte) (*SBOM, error) {
	var doc spdxDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("SPDX SBOM: %w", err)
	}
	// The caller's map stays on the stack; a returned one would not.
	roots := map[string]bool{}
	addSPDXRoots(roots, &doc)
	os := spdxOperatingSystem(&doc)
	s := &SBOM{Format: SPDX}
	for _, p := range doc.Packages {
		purl := spdxPURL(&p)
		switch {
		case roots[p.SPDXID]:
			if s.Subject == "" {
				s.Subject = purl
			}
		case p.Name != "":
			s.Components = append(s.Components, spdxComponent(&p, purl))
		}
		if p.PrimaryPurp == "OPERATING-SYSTEM" {
			continue
		}
		if purl == "" {
			s.Skipped++
			continue
		}
		pkg, ok := fromPURL(purl, p.Name, p.VersionInfo, os)
		if !ok {
			s.Skipped++
			continue
		}
		pkg.BOMRef = p.SPDXID
		s.Packages = append(s.Packages, pkg)
	}
	return s, nil
}

// spdxDocument and spdxPackage alias unnamed structs, not define types:
// encoding/json names the struct type in its errors, which Decode passes
// on, and they read "Go struct field .packages.name" without a name.
type spdxDocument = struct {
	Packages          []spdxPackage   `json:"packages"`
	DocumentDescribes json.RawMessage `json:"documentDescribes"`
	Relationships     json.RawMessage `json:"relationships"`
}

type spdxPackage = struct {
	SPDXID       string `json:"SPDXID"`
	Name         string `json:"name"`
	VersionInfo  string `json:"versionInfo"`
	PrimaryPurp  string `json:"primaryPackagePurpose"`
	ExternalRefs []struct {
		Category string `json:"referenceCategory"`
		Type     string `json:"referenceType"`
		Locator  string `json:"referenceLocator"`
	} `json:"externalRefs"`
	LicenseDeclared  json.RawMessage `json:"licenseDeclared"`
	LicenseConcluded json.RawMessage `json:"licenseConcluded"`
}

// addSPDXRoots adds to roots the SPDX ids of the packages the document
// describes (the image): they are its subject, not components.
func addSPDXRoots(roots map[string]bool, doc *spdxDocument) {
	var describes []string
	lenient(doc.DocumentDescribes, &describes)
	for _, id := range describes {
		roots[id] = true
	}
	var rels []struct {
		A    string `json:"spdxElementId"`
		B    string `json:"relatedSpdxElement"`
		Type string `json:"relationshipType"`
	}
	lenient(doc.Relationships, &rels)
	for _, r := range rels {
		if r.A == "SPDXRef-DOCUMENT" && r.Type == "DESCRIBES" {
			roots[r.B] = true
		}
	}
}

// spdxOperatingSystem returns the last operating-system package of the
// document.
func spdxOperatingSystem(doc *spdxDocument) distro {
	var os distro
	for _, p := range doc.Packages {
		if p.PrimaryPurp == "OPERATING-SYSTEM" {
			os = distro{id: strings.ToLower(p.Name), version: p.VersionInfo}
		}
	}
	return os
}

// spdxPURL returns the package's first PURL, "" when it has none.
func spdxPURL(p *spdxPackage) string {
	for _, r := range p.ExternalRefs {
		if r.Type == "purl" {
			return r.Locator
		}
	}
	return ""
}

// spdxComponent is the package as listed; its licence is the declared
// one, else the concluded one, when either is known.
func spdxComponent(p *spdxPackage, purl string) Component {
	c := Component{Name: p.Name, Version: p.VersionInfo, PURL: purl, Type: p.PrimaryPurp}
	for _, raw := range []json.RawMessage{p.LicenseDeclared, p.LicenseConcluded} {
		var l string
		lenient(raw, &l)
		if l != "" && l != "NOASSERTION" && l != "NONE" {
			c.Licenses = append(c.Licenses, l)
			break
		}
	}
	return c
}

type distro struct{ id, version string }

// fromPURL names a package by its PURL. name and version are the SBOM's
// own fields, preferred where the PURL loses information (RPM epochs).
func fromPURL(purl, name, version string, os distro) (finding.Package, bool) {
	u, err := packageurl.FromString(purl)
	if err != nil {
		return finding.Package{}, false
	}
	q := u.Qualifiers.Map()
	p := finding.Package{PURL: purl, Version: u.Version}
	if p.Version == "" {
		p.Version = version
	}
	switch u.Type {
	case "golang":
		p.Ecosystem = "Go"
		p.Name = join(u.Namespace, u.Name, "/")
		p.Version = goVersion(p.Name, version, u.Version)
	case "cargo":
		p.Ecosystem, p.Name = "crates.io", u.Name
	case "npm":
		p.Ecosystem, p.Name = "npm", join(u.Namespace, u.Name, "/")
	case "pypi":
		p.Ecosystem, p.Name = "PyPI", strings.ToLower(strings.ReplaceAll(u.Name, "_", "-"))
	case "maven":
		p.Ecosystem, p.Name = "Maven", join(u.Namespace, u.Name, ":")
	case "gem":
		p.Ecosystem, p.Name = "RubyGems", u.Name
	case "nuget":
		p.Ecosystem, p.Name = "NuGet", u.Name
	case "composer":
		p.Ecosystem, p.Name = "Packagist", join(u.Namespace, u.Name, "/")
	case "hex":
		p.Ecosystem, p.Name = "Hex", u.Name
	case "pub":
		p.Ecosystem, p.Name = "Pub", u.Name
	case "rpm", "deb", "apk":
		d := distroOf(q["distro"], u.Namespace, os)
		p.Ecosystem = osEcosystem(d)
		p.Name = u.Name
		p.Version = osVersion(u.Type, version, u.Version, q["epoch"])
		p.Source = sourceName(u.Type, q["upstream"])
	default:
		return finding.Package{}, false
	}
	if p.Ecosystem == "" || p.Name == "" || p.Version == "" {
		return finding.Package{}, false
	}
	return p, true
}

func join(ns, name, sep string) string {
	if ns == "" {
		return name
	}
	return ns + sep + name
}

// goVersion reads a Go module version: "v1.2.3" → "1.2.3" (OSV's Go
// ecosystem drops the "v"), and the standard library's "go1.26.8" (syft's
// component version) or "1.26.8" (its PURL version) → "1.26.8". Go's own
// pre-release spelling "go1.22rc1" becomes the semver "1.22.0-rc.1" the
// Go vulnerability database uses.
func goVersion(name, sbomVersion, purlVersion string) string {
	v := purlVersion
	if v == "" {
		v = sbomVersion
	}
	if name == "stdlib" || name == "toolchain" {
		if v == "" || strings.HasPrefix(sbomVersion, "go") {
			v = sbomVersion
		}
		return goToolchainSemver(v)
	}
	// The main module of a binary built outside version control has no
	// version: "(devel)" from the go command, "UNKNOWN" from syft.
	if v == "(devel)" || v == "UNKNOWN" || v == "" {
		return ""
	}
	return strings.TrimPrefix(v, "v")
}

func goToolchainSemver(v string) string {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "go"), "v")
	// Strip a "go1.22.1 X:boringcrypto"-style suffix.
	v, _, _ = strings.Cut(v, " ")
	pre := ""
	for _, tag := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(v, tag); i > 0 && !strings.Contains(v, "-") {
			pre = "-" + tag + "." + v[i+len(tag):]
			v = v[:i]
			break
		}
	}
	parts := strings.Split(v, ".")
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	return strings.Join(parts, ".") + pre
}

// distroOf reads "almalinux-9.4" (syft's distro qualifier) or falls back
// to the PURL namespace and the SBOM's operating-system component.
func distroOf(qualifier, namespace string, os distro) distro {
	if qualifier != "" {
		// The id may itself hold dashes ("opensuse-leap-15.5"): the
		// version is what follows the last one.
		if i := strings.LastIndex(qualifier, "-"); i > 0 {
			return distro{id: strings.ToLower(qualifier[:i]), version: qualifier[i+1:]}
		}
		return distro{id: strings.ToLower(qualifier)}
	}
	if os.id != "" && (namespace == "" || strings.EqualFold(namespace, os.id) || strings.Contains(strings.ToLower(os.id), strings.ToLower(namespace))) {
		return os
	}
	return distro{id: strings.ToLower(namespace)}
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

// osEcosystem maps a distribution and release to OSV's ecosystem name.
func osEcosystem(d distro) string {
	if d.version == "" {
		return ""
	}
	switch d.id {
	case "almalinux":
		return "AlmaLinux:" + major(d.version)
	case "rocky", "rockylinux":
		return "Rocky Linux:" + major(d.version)
	case "debian":
		return "Debian:" + major(d.version)
	case "ubuntu":
		return "Ubuntu:" + d.version
	case "alpine":
		parts := strings.Split(d.version, ".")
		if len(parts) >= 2 {
			return "Alpine:v" + parts[0] + "." + parts[1]
		}
		return "Alpine:v" + d.version
	case "opensuse-leap", "opensuse":
		return "openSUSE:Leap " + d.version
	case "mageia":
		return "Mageia:" + d.version
	case "openeuler":
		return "openEuler:" + d.version
	}
	return ""
}

// osVersion keeps an RPM epoch: the SBOM's version may carry it
// ("1:3.0.7-27.el9"), else the PURL's epoch qualifier supplies it.
func osVersion(purlType, sbomVersion, purlVersion, epoch string) string {
	if purlType != "rpm" {
		if purlVersion != "" {
			return purlVersion
		}
		return sbomVersion
	}
	if strings.Contains(sbomVersion, ":") {
		return sbomVersion
	}
	v := purlVersion
	if v == "" {
		v = sbomVersion
	}
	if epoch != "" && epoch != "0" && !strings.Contains(v, ":") {
		v = epoch + ":" + v
	}
	return v
}

// sourceName reads the source package: RPM "openssl-3.0.7-27.el9.src.rpm"
// → "openssl"; Debian's upstream qualifier is already a name (maybe with
// " (version)").
func sourceName(purlType, upstream string) string {
	if upstream == "" {
		return ""
	}
	if purlType == "rpm" {
		s := strings.TrimSuffix(upstream, ".rpm")
		s = strings.TrimSuffix(s, ".src")
		for range 2 { // drop "-release" then "-version"
			i := strings.LastIndex(s, "-")
			if i <= 0 {
				return ""
			}
			s = s[:i]
		}
		return s
	}
	name, _, _ := strings.Cut(upstream, " ")
	return name
}
