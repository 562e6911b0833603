package sbom

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/scan/inventory"
)

func TestEncodeIndexBothFormats(t *testing.T) {
	repo, _ := name.NewRepository("quay.io/acme/app")
	h := func(c string) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(c, 64)} }
	index := Subject{Repository: repo, Tag: "v1", Digest: h("a"), MediaType: types.OCIImageIndex}
	var children []Child
	for i, arch := range []string{"amd64", "arm64"} {
		children = append(children, Child{
			Subject: Subject{Repository: repo, Digest: h(string(rune('b' + i))), MediaType: types.OCIManifestSchema1,
				Platform: &v1.Platform{OS: "linux", Architecture: arch}},
			SBOM: "sha256:" + strings.Repeat(string(rune('d'+i)), 64),
		})
	}
	for _, f := range []Format{CycloneDX, SPDX} {
		doc, err := EncodeIndex(index, children, f, append(fixed, WithSupplier("Acme"))...)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, f, doc)
		d, err := inventory.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(d.Subject, "aaaa") || len(d.Components) != 2 {
			t.Errorf("%s: subject %s, %d children", f, d.Subject, len(d.Components))
		}
		for i, p := range d.Components {
			if !strings.Contains(p.PURL, children[i].Subject.Digest.Hex) || !strings.Contains(p.PURL, "arch="+children[i].Subject.Platform.Architecture) {
				t.Errorf("%s: child %d purl %s", f, i, p.PURL)
			}
		}
		if !strings.Contains(string(doc), children[1].SBOM) {
			t.Errorf("%s: the index SBOM does not point at the platform SBOMs", f)
		}
	}
}
