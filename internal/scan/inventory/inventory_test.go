package inventory

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

func byName(s *SBOM) map[string]finding.Package {
	m := map[string]finding.Package{}
	for _, p := range s.Packages {
		m[p.Name] = p
	}
	return m
}

// decodeFile is Decode of the file at path, failing the test on an error.
func decodeFile(t *testing.T, path string) *SBOM {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCycloneDXAsSyftWritesIt(t *testing.T) {
	s := decodeFile(t, "testdata/syft.cdx.json")
	got := byName(s)
	want := map[string]finding.Package{
		// go1.26.8 (component version) and 1.26.8 (PURL) both mean 1.26.8.
		"stdlib":            {Name: "stdlib", Version: "1.26.8", Ecosystem: "Go"},
		"golang.org/x/text": {Name: "golang.org/x/text", Version: "0.3.0", Ecosystem: "Go", GOOS: "linux"},
		// The epoch survives; the source package comes from "upstream".
		"openssl-libs": {Name: "openssl-libs", Version: "1:3.0.7-27.el9", Ecosystem: "AlmaLinux:9", Source: "openssl"},
		// No distro qualifier: the operating-system component gives the release.
		"bash":     {Name: "bash", Version: "5.1.8-9.el9", Ecosystem: "AlmaLinux:9", Source: "bash"},
		"glibc":    {Name: "glibc", Version: "2.34-100.el9", Ecosystem: "AlmaLinux:9", Source: "glibc"},
		"smallvec": {Name: "smallvec", Version: "0.6.9", Ecosystem: "crates.io"},
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if g.Version != w.Version || g.Ecosystem != w.Ecosystem || g.Source != w.Source || g.GOOS != w.GOOS {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
		if g.PURL == "" || g.BOMRef == "" {
			t.Errorf("%s lost its PURL or bom-ref", name)
		}
	}
	if _, ok := got["example.com/app"]; ok {
		t.Error("(devel) main module should be skipped")
	}
	if len(s.Packages) != len(want) || s.Skipped != 2 {
		t.Errorf("%d packages, %d skipped; want %d and 2 (no PURL, (devel))", len(s.Packages), s.Skipped, len(want))
	}
}

func TestSPDX(t *testing.T) {
	got := byName(decodeFile(t, "testdata/syft.spdx.json"))
	if p := got["stdlib"]; p.Version != "1.22.0-rc.1" {
		t.Errorf("stdlib go1.22rc1 read as %q, want 1.22.0-rc.1", p.Version)
	}
	if p := got["openssl"]; p.Version != "1:1.1.1k-12.el8_9" || p.Ecosystem != "AlmaLinux:8" {
		t.Errorf("openssl = %+v", p)
	}
	if p := got["@babel/core"]; p.Ecosystem != "npm" || p.Version != "7.0.0" {
		t.Errorf("npm scoped package = %+v", p)
	}
}

func TestWrapped(t *testing.T) {
	b, _ := os.ReadFile("testdata/syft.cdx.json")
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://cyclonedx.org/bom","predicate":%s}`, b)
	env := fmt.Sprintf(`{"payloadType":"application/vnd.in-toto+json","payload":%q,"signatures":[]}`, base64.StdEncoding.EncodeToString([]byte(stmt)))
	for name, doc := range map[string]string{"statement": stmt, "envelope": env} {
		s, err := Decode([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(s.Packages) != 6 {
			t.Errorf("%s: %d packages", name, len(s.Packages))
		}
	}
}

// Components and Subject are the document as it lists itself: every
// named package (an ecosystem or not), with its licences, but not files
// and not the described image.
func TestComponentsAndSubject(t *testing.T) {
	for name, c := range map[string]struct {
		doc           string
		subject       string
		components    string
		packages, skp int
	}{
		"cyclonedx": {
			doc: `{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"container","name":"app","purl":"pkg:oci/app@sha256%3Aab"}},
				"components":[{"type":"library","name":"a","version":"1","purl":"pkg:npm/a@1","licenses":[{"license":{"id":"MIT"}},{"expression":"MIT OR X"},{"license":{"name":"Custom"}}],
					"components":[{"type":"library","name":"b","version":"2"}]},
				{"type":"file","name":"/etc/passwd"},{"type":"library","name":"c","purl":"pkg:npm/c@3","licenses":"not a list"}]}`,
			subject:    "pkg:oci/app@sha256%3Aab",
			components: "a@1 pkg:npm/a@1 library [MIT MIT OR X Custom]; b@2  library []; c@ pkg:npm/c@3 library []",
			packages:   2, skp: 1,
		},
		"spdx": {
			doc: `{"spdxVersion":"SPDX-2.3","documentDescribes":["SPDXRef-r"],"packages":[
				{"SPDXID":"SPDXRef-r","name":"img","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:oci/img@sha256%3Aab"}]},
				{"SPDXID":"SPDXRef-p","name":"p","versionInfo":"1","primaryPackagePurpose":"LIBRARY","licenseDeclared":"NOASSERTION","licenseConcluded":"MIT","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:npm/p@1"}]},
				{"SPDXID":"SPDXRef-q","name":"q","licenseDeclared":7}],
				"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relatedSpdxElement":"SPDXRef-r","relationshipType":"DESCRIBES"}]}`,
			subject:    "pkg:oci/img@sha256%3Aab",
			components: "p@1 pkg:npm/p@1 LIBRARY [MIT]; q@   []",
			packages:   1, skp: 2,
		},
	} {
		s, err := Decode([]byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, p := range s.Components {
			got = append(got, fmt.Sprintf("%s@%s %s %s %v", p.Name, p.Version, p.PURL, p.Type, p.Licenses))
		}
		if s.Subject != c.subject || strings.Join(got, "; ") != c.components {
			t.Errorf("%s: subject %q, components\n  %s\nwant\n  %s", name, s.Subject, strings.Join(got, "; "), c.components)
		}
		if len(s.Packages) != c.packages || s.Skipped != c.skp {
			t.Errorf("%s: %d packages, %d skipped, want %d and %d", name, len(s.Packages), s.Skipped, c.packages, c.skp)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, doc := range []string{``, `[]`, `{"hello":1}`, `{"bomFormat":"CycloneDX","components":{}}`, `{"spdxVersion":"SPDX-2.3","packages":"x"}`} {
		if _, err := Decode([]byte(doc)); err == nil {
			t.Errorf("Decode(%q) accepted", doc)
		}
	}
}

func TestGoToolchainVersions(t *testing.T) {
	for in, want := range map[string]string{"go1.26.8": "1.26.8", "go1.22": "1.22.0", "go1.21rc2": "1.21.0-rc.2", "1.26.8": "1.26.8", "go1.20beta1": "1.20.0-beta.1", "go1.22.1 X:boringcrypto": "1.22.1"} {
		if got := goToolchainSemver(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range []string{"testdata/syft.cdx.json", "testdata/syft.spdx.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicate":{"bomFormat":"CycloneDX","components":[{"purl":"pkg:rpm/x@1?upstream=-"}]}}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"components":[{"components":[]}]}]}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","documentDescribes":["SPDXRef-r"],"packages":[{"SPDXID":"SPDXRef-r","name":"img"},{"SPDXID":"SPDXRef-p","name":"p","versionInfo":"1","licenseDeclared":"MIT","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:npm/p@1"}]}],"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relatedSpdxElement":"SPDXRef-r","relationshipType":"DESCRIBES"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			return
		}
		for _, p := range s.Packages {
			if p.Name == "" || p.Version == "" || p.Ecosystem == "" {
				t.Fatalf("incomplete package %+v", p)
			}
		}
		for _, c := range s.Components {
			if c.Name == "" {
				t.Fatalf("component without a name: %+v", c)
			}
		}
	})
}
