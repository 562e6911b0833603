package sbomdoc

import "testing"

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"purl":"pkg:oci/x@sha256%3Aab"}},"components":[{"type":"library","name":"a","version":"1","purl":"pkg:npm/a@1","licenses":[{"license":{"id":"MIT"}},{"expression":"MIT OR X"}],"components":[{"type":"library","name":"b"}]}]}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","documentDescribes":["SPDXRef-r"],"packages":[{"SPDXID":"SPDXRef-r","name":"img"},{"SPDXID":"SPDXRef-p","name":"p","versionInfo":"1","licenseDeclared":"MIT","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:npm/p@1"}]}],"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relatedSpdxElement":"SPDXRef-r","relationshipType":"DESCRIBES"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"components":[{"components":[]}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Decode(b)
		if err != nil {
			return
		}
		if d.Format != CycloneDX && d.Format != SPDX {
			t.Errorf("format %q", d.Format)
		}
		for _, p := range d.Packages {
			if p.Name == "" {
				t.Errorf("package without a name: %+v", p)
			}
		}
	})
}
