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
	model := syftModel(cat, subj, o)
	doc := spdxhelpers.ToFormatModel(model)
	if doc == nil {
		return nil, fmt.Errorf("SPDX conversion failed")
	}
	doc.DocumentName = subj.Ref()
	doc.DocumentNamespace = spdxNamespace(subj, o)
	doc.CreationInfo.Creators = spdxCreators(subj, o)
	doc.CreationInfo.Created = o.now().UTC().Format(time.RFC3339)

	var rootID common.ElementID
	for _, r := range doc.Relationships {
		if r.Relationship == "DESCRIBES" && r.RefA.ElementRefID == "DOCUMENT" {
			rootID = r.RefB.ElementRefID
		}
	}
	var root *spdx.Package
	for _, p := range doc.Packages {
		if p.PackageSPDXIdentifier == rootID {
			root = p
		}
	}
	if root == nil {
		return nil, fmt.Errorf("SPDX conversion produced no root package")
	}
	spdxRoot(root, subj, o)

	if hasBase {
		id := common.ElementID("BaseImage")
		bp := &spdx.Package{
			PackageName:             base.Name,
			PackageSPDXIdentifier:   id,
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
		doc.Packages = append(doc.Packages, bp)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", string(rootID)), RefB: common.MakeDocElementID("", string(id)),
			Relationship: "DESCENDANT_OF",
		})
	}
	if url, commit := sourceOf(subj, o); url != "" {
		id := common.ElementID("Source")
		loc := url
		if !strings.HasPrefix(loc, "git+") {
			loc = "git+" + loc
		}
		if commit != "" {
			loc += "@" + commit
		}
		sp := &spdx.Package{
			PackageName:             url,
			PackageSPDXIdentifier:   id,
			PackageVersion:          commit,
			PackageDownloadLocation: loc,
			PackageSupplier:         &common.Supplier{Supplier: noAssertion},
			PackageCopyrightText:    noAssertion,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PrimaryPackagePurpose:   "SOURCE",
			PackageComment:          "source repository the image was built from",
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", string(rootID)), RefB: common.MakeDocElementID("", string(id)),
			Relationship: "GENERATED_FROM",
		})
	}
	return marshalSPDX(doc)
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
