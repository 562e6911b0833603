package sbom

import (
	"fmt"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
)

// Child is one platform image of an index, with the SBOM written for it.
type Child struct {
	Subject Subject
	// SBOM is the digest (sha256:…) of the child's SBOM blob, stored in
	// the same repository; empty if it was not pushed.
	SBOM string
}

// EncodeIndex writes the SBOM of an image index: the index is the root,
// each platform image a component it depends on, pointing at that image's
// own SBOM.
func EncodeIndex(subj Subject, children []Child, f Format, opts ...Option) ([]byte, error) {
	o := makeOptions(opts)
	switch f {
	case CycloneDX:
		bom := newBOM(subj, &o)
		rootRef := bom.Metadata.Component.BOMRef
		var comps []cdx.Component
		var refs []string
		for _, c := range children {
			purl := c.Subject.PURL()
			comp := cdx.Component{
				BOMRef: purl, Type: cdx.ComponentTypeContainer, Name: c.Subject.Repository.Name(),
				Version: c.Subject.Digest.String(), PackageURL: purl,
				Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: c.Subject.Digest.Hex}},
			}
			if c.Subject.Platform != nil {
				comp.Properties = &[]cdx.Property{{Name: "trustline:image:platform", Value: c.Subject.Platform.String()}}
			}
			if c.SBOM != "" {
				comp.ExternalReferences = &[]cdx.ExternalReference{{
					Type: cdx.ERTypeBOM, URL: "oci://" + c.Subject.Repository.Name() + "@" + c.SBOM,
					Comment: "SBOM of this platform image (" + f.MediaType() + ")",
				}}
			}
			comps = append(comps, comp)
			refs = append(refs, purl)
		}
		bom.Components = &comps
		deps := []cdx.Dependency{{Ref: rootRef, Dependencies: &refs}}
		for _, r := range refs {
			deps = append(deps, cdx.Dependency{Ref: r, Dependencies: &[]string{}})
		}
		bom.Dependencies = &deps
		return marshalCycloneDX(bom)
	case SPDX:
		root := &spdx.Package{PackageSPDXIdentifier: "DocumentRoot-Index", PackageCopyrightText: noAssertion,
			PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion}
		spdxRoot(root, subj, &o)
		doc := &spdx.Document{
			SPDXVersion: spdx.Version, DataLicense: spdx.DataLicense, SPDXIdentifier: "DOCUMENT",
			DocumentName: subj.Ref(), DocumentNamespace: spdxNamespace(subj, &o),
			CreationInfo: &spdx.CreationInfo{Creators: spdxCreators(subj, &o), Created: o.now().UTC().Format(time.RFC3339)},
			Packages:     []*spdx.Package{root},
			Relationships: []*spdx.Relationship{{
				RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", string(root.PackageSPDXIdentifier)),
				Relationship: "DESCRIBES",
			}},
		}
		for i, c := range children {
			id := common.ElementID(fmt.Sprintf("Image-%d", i))
			p := &spdx.Package{
				PackageName: c.Subject.Repository.Name(), PackageSPDXIdentifier: id,
				PackageVersion: c.Subject.Digest.String(), PackageDownloadLocation: noAssertion,
				PackageSupplier: &common.Supplier{Supplier: noAssertion}, PackageCopyrightText: noAssertion,
				PackageLicenseConcluded: noAssertion, PackageLicenseDeclared: noAssertion, PrimaryPackagePurpose: "CONTAINER",
				PackageChecksums: []common.Checksum{{Algorithm: common.SHA256, Value: c.Subject.Digest.Hex}},
				PackageExternalReferences: []*spdx.PackageExternalReference{{
					Category: "PACKAGE-MANAGER", RefType: "purl", Locator: c.Subject.PURL(),
				}},
			}
			if c.Subject.Platform != nil {
				p.PackageComment = "platform " + c.Subject.Platform.String()
			}
			if c.SBOM != "" {
				p.PackageComment += "; SBOM " + c.Subject.Repository.Name() + "@" + c.SBOM
			}
			doc.Packages = append(doc.Packages, p)
			doc.Relationships = append(doc.Relationships, &spdx.Relationship{
				RefA: common.MakeDocElementID("", string(root.PackageSPDXIdentifier)), RefB: common.MakeDocElementID("", string(id)),
				Relationship: "CONTAINS",
			})
		}
		return marshalSPDX(doc)
	}
	return nil, fmt.Errorf("format %q: want cyclonedx or spdx", f)
}
