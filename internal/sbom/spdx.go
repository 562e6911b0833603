package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/anchore/syft/syft/format/common/spdxhelpers"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
)

const noAssertion = "NOASSERTION"

func spdxNamespace(subj Subject, o *options) string {
	return "https://trustline.dev/spdx/" + strings.ReplaceAll(subj.Repository.Name(), ":", "-") + "/" + subj.Digest.Hex + "-" + o.serial()
}

func spdxCreators(subj Subject, o *options) []common.Creator {
	cs := []common.Creator{
		{CreatorType: "Tool", Creator: "trustline-sbom-" + o.toolVersion},
		{CreatorType: "Tool", Creator: "syft-" + SyftVersion},
	}
	if s := supplierOf(subj, o); s != "" {
		cs = append(cs, common.Creator{CreatorType: "Organization", Creator: s})
	}
	if a := authorOf(subj, o); a != "" {
		cs = append(cs, common.Creator{CreatorType: "Person", Creator: a})
	}
	return cs
}

func spdxRoot(p *spdx.Package, subj Subject, o *options) {
	p.PackageName = subj.Repository.Name()
	p.PackageVersion = subj.Digest.String()
	p.PrimaryPackagePurpose = "CONTAINER"
	p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: subj.Digest.Hex}}
	p.PackageExternalReferences = []*spdx.PackageExternalReference{{
		Category: "PACKAGE-MANAGER", RefType: "purl", Locator: subj.PURL(),
	}}
	p.PackageDownloadLocation = noAssertion
	if s := supplierOf(subj, o); s != "" {
		p.PackageSupplier = &common.Supplier{SupplierType: "Organization", Supplier: s}
	} else {
		p.PackageSupplier = &common.Supplier{Supplier: noAssertion}
	}
	if a := authorOf(subj, o); a != "" {
		p.PackageOriginator = &common.Originator{OriginatorType: "Person", Originator: a}
	}
}

func encodeSPDX(cat *Catalog, subj Subject, o *options) ([]byte, error) {
	base, hasBase, err := subj.BaseImage()
	if err != nil {
		return nil, err
	}
	doc, err := spdxDocument(cat, subj, o)
	if err != nil {
		return nil, err
	}
	rootID, root := spdxRootPackage(doc)
	if root == nil {
		return nil, fmt.Errorf("SPDX conversion produced no root package")
	}
	spdxRoot(root, subj, o)
	if hasBase {
		attachPackage(doc, rootID, spdxBaseImage(base), "DESCENDANT_OF")
	}
	if url, commit := sourceOf(subj, o); url != "" {
		attachPackage(doc, rootID, spdxSource(url, commit), "GENERATED_FROM")
	}
	return marshalSPDX(doc)
}

// spdxDocument converts the catalog with syft and names the document and
// its creators.
func spdxDocument(cat *Catalog, subj Subject, o *options) (*spdx.Document, error) {
	model := syftModel(cat, subj, o)
	doc := spdxhelpers.ToFormatModel(model)
	if doc == nil {
		return nil, fmt.Errorf("SPDX conversion failed")
	}
	doc.DocumentName = subj.Ref()
	doc.DocumentNamespace = spdxNamespace(subj, o)
	doc.CreationInfo.Creators = spdxCreators(subj, o)
	doc.CreationInfo.Created = o.now().UTC().Format(time.RFC3339)
	return doc, nil
}

// spdxRootPackage finds the package the document DESCRIBES; root is nil
// when there is none.
func spdxRootPackage(doc *spdx.Document) (rootID common.ElementID, root *spdx.Package) {
	for _, r := range doc.Relationships {
		if r.Relationship == "DESCRIBES" && r.RefA.ElementRefID == "DOCUMENT" {
			rootID = r.RefB.ElementRefID
		}
	}
	for _, p := range doc.Packages {
		if p.PackageSPDXIdentifier == rootID {
			root = p
		}
	}
	return rootID, root
}

func spdxBaseImage(base Base) *spdx.Package {
	bp := &spdx.Package{
		PackageName:             base.Name,
		PackageSPDXIdentifier:   "BaseImage",
		PackageVersion:          base.Digest,
		PackageDownloadLocation: noAssertion,
		PackageSupplier:         &common.Supplier{Supplier: noAssertion},
		PackageCopyrightText:    noAssertion,
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  noAssertion,
		PrimaryPackagePurpose:   "CONTAINER",
		PackageExternalReferences: []*spdx.PackageExternalReference{{
			Category: "PACKAGE-MANAGER", RefType: "purl", Locator: base.PURL(),
		}},
		PackageComment: "base image",
	}
	if h, ok := strings.CutPrefix(base.Digest, "sha256:"); ok {
		bp.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: h}}
	}
	return bp
}

func spdxSource(url, commit string) *spdx.Package {
	loc := url
	if !strings.HasPrefix(loc, "git+") {
		loc = "git+" + loc
	}
	if commit != "" {
		loc += "@" + commit
	}
	return &spdx.Package{
		PackageName:             url,
		PackageSPDXIdentifier:   "Source",
		PackageVersion:          commit,
		PackageDownloadLocation: loc,
		PackageSupplier:         &common.Supplier{Supplier: noAssertion},
		PackageCopyrightText:    noAssertion,
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  noAssertion,
		PrimaryPackagePurpose:   "SOURCE",
		PackageComment:          "source repository the image was built from",
	}
}

// attachPackage adds p to doc as related to the root package.
func attachPackage(doc *spdx.Document, rootID common.ElementID, p *spdx.Package, relationship string) {
	doc.Packages = append(doc.Packages, p)
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{
		RefA: common.MakeDocElementID("", string(rootID)), RefB: common.MakeDocElementID("", string(p.PackageSPDXIdentifier)),
		Relationship: relationship,
	})
}

// marshalSPDX writes doc as indented SPDX JSON, the one form every SPDX
// document of this package takes.
func marshalSPDX(doc *spdx.Document) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding SPDX: %w", err)
	}
	return buf.Bytes(), nil
}
