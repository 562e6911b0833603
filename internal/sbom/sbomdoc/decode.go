// Package sbomdoc reads CycloneDX and SPDX JSON documents, which may come
// from anywhere (an attached SBOM, a file), into a small common model. It
// is its own package, free of the cataloging stack, so that fuzzing it
// builds in seconds.
package sbomdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Format is an SBOM document format.
type Format string

// The formats the sbom step writes and Decode reads.
const (
	CycloneDX Format = "cyclonedx"
	SPDX      Format = "spdx"
)

// MediaType is the IANA media type of the JSON document, used as the
// referrer's artifactType and its layer's media type.
func (f Format) MediaType() string {
	if f == SPDX {
		return "application/spdx+json"
	}
	return "application/vnd.cyclonedx+json"
}

// CosignMediaType is the layer media type `cosign attach sbom` writes
// under the sha256-<hex>.sbom tag (cosign's pkg/types): cosign spells SPDX
// JSON "spdx+json".
func (f Format) CosignMediaType() string {
	if f == SPDX {
		return "spdx+json"
	}
	return "application/vnd.cyclonedx+json"
}

// Package is one entry of an SBOM, as the scan and policy steps need it.
type Package struct {
	Name     string   `json:"name"`
	Version  string   `json:"version,omitempty"`
	PURL     string   `json:"purl,omitempty"`
	Type     string   `json:"type,omitempty"` // CycloneDX component type or SPDX purpose
	Licenses []string `json:"licenses,omitempty"`
}

// Document is the part of an SBOM document other steps read.
type Document struct {
	Format Format
	// Subject is the described image's PURL (pkg:oci/…@sha256:…).
	Subject  string
	Packages []Package
}

// maxDecode bounds the document size Decode accepts.
const maxDecode = 512 << 20

type cdxDoc struct {
	BOMFormat   string `json:"bomFormat"`
	SpecVersion string `json:"specVersion"`
	Metadata    *struct {
		Component *cdxComp `json:"component"`
	} `json:"metadata"`
	Components []cdxComp `json:"components"`
}

type cdxComp struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Version    string          `json:"version"`
	PURL       string          `json:"purl"`
	Licenses   []cdxLicense    `json:"licenses"`
	Components []cdxComp       `json:"components"`
	Properties json.RawMessage `json:"properties"`
}

type cdxLicense struct {
	License *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"license"`
	Expression string `json:"expression"`
}

type spdxDoc struct {
	SPDXVersion       string `json:"spdxVersion"`
	DocumentDescribes []string
	Packages          []struct {
		SPDXID           string `json:"SPDXID"`
		Name             string `json:"name"`
		VersionInfo      string `json:"versionInfo"`
		LicenseDeclared  string `json:"licenseDeclared"`
		LicenseConcluded string `json:"licenseConcluded"`
		Purpose          string `json:"primaryPackagePurpose"`
		ExternalRefs     []struct {
			Category string `json:"referenceCategory"`
			Type     string `json:"referenceType"`
			Locator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
	Relationships []struct {
		A    string `json:"spdxElementId"`
		B    string `json:"relatedSpdxElement"`
		Type string `json:"relationshipType"`
	} `json:"relationships"`
}

// Decode reads a CycloneDX (1.x) or SPDX 2.x JSON document, ours or
// another tool's, and returns its subject and packages sorted by PURL
// then name. Files and the described image itself are not packages.
func Decode(doc []byte) (*Document, error) {
	if len(doc) > maxDecode {
		return nil, fmt.Errorf("SBOM of %d bytes is over the %d-byte limit", len(doc), maxDecode)
	}
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil {
		return nil, fmt.Errorf("SBOM is not JSON: %w", err)
	}
	var out *Document
	var err error
	switch {
	case probe.BOMFormat == "CycloneDX":
		out, err = decodeCDX(doc)
	case probe.SPDXVersion != "":
		out, err = decodeSPDX(doc)
	default:
		return nil, fmt.Errorf("SBOM is neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON")
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out.Packages, func(i, j int) bool {
		a, b := out.Packages[i], out.Packages[j]
		if a.PURL != b.PURL {
			return a.PURL < b.PURL
		}
		return a.Name < b.Name
	})
	return out, nil
}

func decodeCDX(doc []byte) (*Document, error) {
	var d cdxDoc
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("CycloneDX: %w", err)
	}
	out := &Document{Format: CycloneDX}
	if d.Metadata != nil && d.Metadata.Component != nil {
		out.Subject = d.Metadata.Component.PURL
	}
	var walk func(cs []cdxComp, depth int)
	walk = func(cs []cdxComp, depth int) {
		if depth > 32 { // nested components; a bound keeps hostile input cheap
			return
		}
		for _, c := range cs {
			if c.Type != "file" && c.Name != "" {
				p := Package{Name: c.Name, Version: c.Version, PURL: c.PURL, Type: c.Type}
				for _, l := range c.Licenses {
					switch {
					case l.Expression != "":
						p.Licenses = append(p.Licenses, l.Expression)
					case l.License != nil && l.License.ID != "":
						p.Licenses = append(p.Licenses, l.License.ID)
					case l.License != nil && l.License.Name != "":
						p.Licenses = append(p.Licenses, l.License.Name)
					}
				}
				out.Packages = append(out.Packages, p)
			}
			walk(c.Components, depth+1)
		}
	}
	walk(d.Components, 0)
	return out, nil
}

func decodeSPDX(doc []byte) (*Document, error) {
	var d spdxDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("SPDX: %w", err)
	}
	out := &Document{Format: SPDX}
	roots := map[string]bool{}
	for _, id := range d.DocumentDescribes {
		roots[id] = true
	}
	for _, r := range d.Relationships {
		if r.A == "SPDXRef-DOCUMENT" && r.Type == "DESCRIBES" {
			roots[r.B] = true
		}
	}
	for _, sp := range d.Packages {
		var purl string
		for _, r := range sp.ExternalRefs {
			if r.Type == "purl" {
				purl = r.Locator
				break
			}
		}
		if roots[sp.SPDXID] {
			if out.Subject == "" {
				out.Subject = purl
			}
			continue
		}
		if sp.Name == "" {
			continue
		}
		p := Package{Name: sp.Name, Version: sp.VersionInfo, PURL: purl, Type: sp.Purpose}
		for _, l := range []string{sp.LicenseDeclared, sp.LicenseConcluded} {
			if l != "" && l != "NOASSERTION" && l != "NONE" {
				p.Licenses = append(p.Licenses, l)
				break
			}
		}
		out.Packages = append(out.Packages, p)
	}
	return out, nil
}
