package sbom

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/anchore/syft/syft/format/common/cyclonedxhelpers"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
)

// Format is an SBOM document format.
type Format string

// The formats the step writes.
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

// ParseFormat accepts "cyclonedx" or "spdx".
func ParseFormat(s string) (Format, error) {
	switch Format(strings.ToLower(s)) {
	case CycloneDX:
		return CycloneDX, nil
	case SPDX:
		return SPDX, nil
	}
	return "", fmt.Errorf("format %q: want cyclonedx or spdx", s)
}

// Encode writes the SBOM of a cataloged platform image in format f.
func Encode(cat *Catalog, subj Subject, f Format, opts ...Option) ([]byte, error) {
	o := makeOptions(opts)
	switch f {
	case CycloneDX:
		return encodeCycloneDX(cat, subj, &o)
	case SPDX:
		if len(o.prefetched) > 0 {
			return nil, fmt.Errorf("merging prefetched dependencies needs the CycloneDX format")
		}
		return encodeSPDX(cat, subj, &o)
	}
	return nil, fmt.Errorf("format %q: want cyclonedx or spdx", f)
}

// syftModel gives the merged catalog the image as its source, so syft's
// converters name it.
func syftModel(cat *Catalog, subj Subject, o *options) syftsbom.SBOM {
	s := *cat.SBOM
	md := source.ImageMetadata{
		UserInput:      subj.Ref(),
		ID:             subj.Digest.String(),
		ManifestDigest: subj.Digest.String(),
		MediaType:      string(subj.MediaType),
		RepoDigests:    []string{subj.Ref()},
		Labels:         subj.Labels,
	}
	if subj.Platform != nil {
		md.OS, md.Architecture, md.Variant = subj.Platform.OS, subj.Platform.Architecture, subj.Platform.Variant
	}
	s.Source = source.Description{
		ID:       subj.Digest.String(),
		Name:     subj.Repository.Name(),
		Version:  subj.Digest.String(),
		Supplier: supplierOf(subj, o),
		Metadata: md,
	}
	s.Descriptor = syftsbom.Descriptor{Name: "trustline-sbom", Version: o.toolVersion}
	return s
}

func supplierOf(subj Subject, o *options) string {
	if o.supplier != "" {
		return o.supplier
	}
	return subj.meta(AnnotationVendor)
}

func authorOf(subj Subject, o *options) string {
	if o.author != "" {
		return o.author
	}
	return subj.meta(AnnotationAuthors)
}

func sourceOf(subj Subject, o *options) (string, string) {
	if o.sourceURL != "" || o.sourceCommit != "" {
		return o.sourceURL, o.sourceCommit
	}
	return subj.meta(AnnotationSource), subj.meta(AnnotationRevision)
}

func tools(o *options) *cdx.ToolsChoice {
	return &cdx.ToolsChoice{Components: &[]cdx.Component{
		{Type: cdx.ComponentTypeApplication, Name: "trustline-sbom", Version: o.toolVersion,
			Supplier: &cdx.OrganizationalEntity{Name: "trustline"}},
		{Type: cdx.ComponentTypeLibrary, Name: "syft", Version: strings.TrimPrefix(SyftVersion, "v"),
			Supplier:   &cdx.OrganizationalEntity{Name: "Anchore, Inc."},
			PackageURL: "pkg:golang/github.com/anchore/syft@" + SyftVersion},
	}}
}

func rootComponent(subj Subject, o *options) cdx.Component {
	purl := subj.PURL()
	c := cdx.Component{
		BOMRef:     purl,
		Type:       cdx.ComponentTypeContainer,
		Name:       subj.Repository.Name(),
		Version:    subj.Digest.String(),
		PackageURL: purl,
		Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: subj.Digest.Hex}},
	}
	if s := supplierOf(subj, o); s != "" {
		c.Supplier = &cdx.OrganizationalEntity{Name: s}
	}
	if a := authorOf(subj, o); a != "" {
		c.Authors = &[]cdx.OrganizationalContact{{Name: a}}
	}
	var props []cdx.Property
	if subj.Platform != nil {
		props = append(props, cdx.Property{Name: "trustline:image:platform", Value: subj.Platform.String()})
	}
	if subj.Tag != "" {
		props = append(props, cdx.Property{Name: "trustline:image:tag", Value: subj.Tag})
	}
	if url, commit := sourceOf(subj, o); url != "" || commit != "" {
		if url != "" {
			ref := cdx.ExternalReference{Type: cdx.ERTypeVCS, URL: url}
			if commit != "" {
				ref.Comment = "commit " + commit
			}
			c.ExternalReferences = &[]cdx.ExternalReference{ref}
			props = append(props, cdx.Property{Name: "trustline:source:url", Value: url})
		}
		if commit != "" {
			props = append(props, cdx.Property{Name: "trustline:source:commit", Value: commit})
		}
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	return c
}

func newBOM(subj Subject, o *options) *cdx.BOM {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.SerialNumber = "urn:uuid:" + o.serial()
	bom.Version = 1
	root := rootComponent(subj, o)
	bom.Metadata = &cdx.Metadata{
		Timestamp:  o.now().UTC().Format(time.RFC3339),
		Lifecycles: &[]cdx.Lifecycle{{Phase: cdx.LifecyclePhasePostBuild}},
		Tools:      tools(o),
		Component:  &root,
	}
	if s := supplierOf(subj, o); s != "" {
		bom.Metadata.Supplier = &cdx.OrganizationalEntity{Name: s}
		bom.Metadata.Manufacturer = &cdx.OrganizationalEntity{Name: s}
	}
	if a := authorOf(subj, o); a != "" {
		bom.Metadata.Authors = &[]cdx.OrganizationalContact{{Name: a}}
	} else {
		bom.Metadata.Authors = &[]cdx.OrganizationalContact{{Name: "trustline-sbom " + o.toolVersion}}
	}
	return bom
}

func encodeCycloneDX(cat *Catalog, subj Subject, o *options) ([]byte, error) {
	base, hasBase, err := subj.BaseImage()
	if err != nil {
		return nil, err
	}
	model := syftModel(cat, subj, o)
	from := cyclonedxhelpers.ToFormatModel(model)
	bom := newBOM(subj, o)
	rootRef := bom.Metadata.Component.BOMRef

	packages := model.Artifacts.Packages.Sorted()
	var comps []cdx.Component
	if from.Components != nil {
		comps = *from.Components
	}
	if len(comps) < len(packages) {
		return nil, fmt.Errorf("cyclonedx conversion returned %d components for %d packages", len(comps), len(packages))
	}
	for i, p := range packages {
		c := &comps[i]
		if c.Name != p.Name {
			return nil, fmt.Errorf("cyclonedx conversion reordered components (%q at %d, want %q)", c.Name, i, p.Name)
		}
		enrichComponent(c, p)
	}
	if hasBase {
		purl := base.PURL()
		bc := cdx.Component{
			BOMRef:     purl,
			Type:       cdx.ComponentTypeContainer,
			Name:       base.Name,
			Version:    base.Digest,
			PackageURL: purl,
			Properties: &[]cdx.Property{{Name: "trustline:image:role", Value: "base-image"}},
		}
		if h, ok := strings.CutPrefix(base.Digest, "sha256:"); ok {
			bc.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h}}
		}
		if base.Tag != "" {
			*bc.Properties = append(*bc.Properties, cdx.Property{Name: "trustline:image:tag", Value: base.Tag})
		}
		comps = append(comps, bc)
		bom.Metadata.Component.Pedigree = &cdx.Pedigree{Ancestors: &[]cdx.Component{{
			Type: cdx.ComponentTypeContainer, Name: bc.Name, Version: bc.Version, PackageURL: purl, Hashes: bc.Hashes,
		}}}
	}
	comps = mergePrefetched(comps, o.prefetched)
	bom.Components = &comps
	bom.Dependencies = dependencies(from.Dependencies, comps, rootRef)
	return marshalCycloneDX(bom)
}

// marshalCycloneDX writes bom as indented CycloneDX 1.6 JSON, the one
// form every SBOM of this package takes.
func marshalCycloneDX(bom *cdx.BOM) ([]byte, error) {
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("encoding CycloneDX: %w", err)
	}
	return buf.Bytes(), nil
}

// dependencies completes syft's graph: every component gets an entry, and
// the image depends on each component nothing else depends on (the base
// image, the OS, top-level packages), so the graph is rooted at the image.
func dependencies(from *[]cdx.Dependency, comps []cdx.Component, rootRef string) *[]cdx.Dependency {
	byRef := map[string]*cdx.Dependency{}
	var out []cdx.Dependency
	if from != nil {
		out = append(out, *from...)
	}
	dependedOn := map[string]bool{}
	for i := range out {
		if out[i].Dependencies != nil {
			for _, d := range *out[i].Dependencies {
				dependedOn[d] = true
			}
		}
	}
	for i := range out {
		byRef[out[i].Ref] = &out[i]
	}
	var top []string
	for _, c := range comps {
		if c.BOMRef == "" || c.Type == cdx.ComponentTypeFile {
			continue
		}
		if _, ok := byRef[c.BOMRef]; !ok {
			out = append(out, cdx.Dependency{Ref: c.BOMRef, Dependencies: &[]string{}})
		}
		if !dependedOn[c.BOMRef] {
			top = append(top, c.BOMRef)
		}
	}
	sort.Strings(top)
	out = append(out, cdx.Dependency{Ref: rootRef, Dependencies: &top})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return &out
}

// enrichComponent adds what syft leaves out of CycloneDX: a supplier from
// the package's own metadata and hashes the evidence carries.
func enrichComponent(c *cdx.Component, p pkg.Package) {
	if c.Supplier == nil {
		if s := packageSupplier(p); s != "" {
			c.Supplier = &cdx.OrganizationalEntity{Name: s}
		}
	}
	if hs := packageHashes(p); len(hs) > 0 && c.Hashes == nil {
		c.Hashes = &hs
	}
}

func packageSupplier(p pkg.Package) string {
	switch m := p.Metadata.(type) {
	case pkg.DpkgDBEntry:
		return m.Maintainer
	case pkg.ApkDBEntry:
		return m.Maintainer
	case pkg.RpmDBEntry:
		return m.Vendor
	case pkg.NpmPackage:
		return m.Author
	case pkg.PythonPackage:
		if m.Author != "" {
			return m.Author
		}
		return m.AuthorEmail
	}
	return ""
}

func packageHashes(p pkg.Package) []cdx.Hash {
	var out []cdx.Hash
	switch m := p.Metadata.(type) {
	case pkg.GolangBinaryBuildinfoEntry:
		// h1: is base64 of the SHA-256 of the module's file tree
		// (golang.org/x/mod/sumdb/dirhash).
		if b64, ok := strings.CutPrefix(m.H1Digest, "h1:"); ok {
			if raw, err := base64.StdEncoding.DecodeString(b64); err == nil && len(raw) == 32 {
				out = append(out, cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: hex.EncodeToString(raw)})
			}
		}
	case pkg.JavaArchive:
		for _, d := range m.ArchiveDigests {
			switch strings.ToLower(d.Algorithm) {
			case "sha1":
				out = append(out, cdx.Hash{Algorithm: cdx.HashAlgoSHA1, Value: d.Value})
			case "sha256":
				out = append(out, cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: d.Value})
			}
		}
	}
	return out
}
