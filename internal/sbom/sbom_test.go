package sbom

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/scan/inventory"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

var fixed = []Option{
	WithClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }),
	WithSerial(func() string { return "00000000-0000-4000-8000-000000000000" }),
}

func appImage(t *testing.T, reg string) name.Digest {
	return testregistry.Push(t, reg+"/team/app:v1", imageOf(t, "amd64", baseAnnotations, baseLayer(t), appLayer(t), cleanupLayer(t)))
}

func generate(t *testing.T, ref name.Reference, f Format, opts ...Option) *Result {
	t.Helper()
	opts = append(append([]Option{WithTempDir(t.TempDir()), WithProgress(tlog{t})}, fixed...), opts...)
	res, err := Generate(context.Background(), Request{Reference: ref, Format: f}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func byName(t *testing.T, d *inventory.SBOM) map[string]inventory.Component {
	t.Helper()
	m := map[string]inventory.Component{}
	for _, p := range d.Components {
		m[p.Name] = p
	}
	return m
}

func TestCycloneDX(t *testing.T) {
	reg := testregistry.Start(t)
	dig := appImage(t, reg)
	tag, _ := name.ParseReference(reg + "/team/app:v1")
	res := generate(t, tag, CycloneDX, WithSource("https://github.com/example/app", "0123456789abcdef0123456789abcdef01234567"))
	validate(t, CycloneDX, res.Document)

	var bom map[string]any
	if err := json.Unmarshal(res.Document, &bom); err != nil {
		t.Fatal(err)
	}
	if bom["specVersion"] != "1.6" {
		t.Errorf("specVersion = %v, want 1.6", bom["specVersion"])
	}
	if s, _ := bom["serialNumber"].(string); !strings.HasPrefix(s, "urn:uuid:") {
		t.Errorf("serialNumber = %q", s)
	}
	md := bom["metadata"].(map[string]any)
	if md["timestamp"] != "2026-01-02T03:04:05Z" {
		t.Errorf("timestamp = %v", md["timestamp"])
	}
	root := md["component"].(map[string]any)
	wantPURL := "pkg:oci/app@" + strings.Replace(dig.DigestStr(), ":", "%3A", 1) + "?arch=amd64&repository_url=" +
		strings.Replace(reg, ":", "%3A", 1) + "%2Fteam%2Fapp&tag=v1"
	if root["purl"] != wantPURL {
		t.Errorf("root purl = %v\nwant %v", root["purl"], wantPURL)
	}
	if root["type"] != "container" {
		t.Errorf("root type = %v", root["type"])
	}
	if sup, _ := md["supplier"].(map[string]any); sup["name"] != "Example Corp" {
		t.Errorf("supplier = %v, want the vendor label", md["supplier"])
	}
	if refs, _ := root["externalReferences"].([]any); len(refs) != 1 || refs[0].(map[string]any)["url"] != "https://github.com/example/app" {
		t.Errorf("source reference = %v", root["externalReferences"])
	}
	tools := md["tools"].(map[string]any)["components"].([]any)
	if len(tools) != 2 {
		t.Errorf("tools = %v", tools)
	}

	doc, err := inventory.Decode(res.Document)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Subject != wantPURL {
		t.Errorf("decoded subject = %q", doc.Subject)
	}
	pkgs := byName(t, doc)
	for n, want := range map[string]string{
		"curl":                     "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12",
		"libc6":                    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc",
		"base-files":               "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12",
		"left-pad":                 "pkg:npm/left-pad@1.3.0",
		"requests":                 "pkg:pypi/requests@2.31.0",
		"golang.org/x/sync":        "pkg:golang/golang.org/x/sync@v0.24.0",
		"docker.io/library/debian": "pkg:oci/debian@" + strings.Replace(baseAnnotations[AnnotationBaseDigest], ":", "%3A", 1) + "?repository_url=docker.io%2Flibrary%2Fdebian&tag=12",
	} {
		p, ok := pkgs[n]
		if !ok {
			t.Errorf("package %s missing; have %v", n, names(doc))
			continue
		}
		if p.PURL != want {
			t.Errorf("%s purl = %s\n want %s", n, p.PURL, want)
		}
	}
	if _, ok := pkgs["is-odd"]; ok {
		t.Error("is-odd was deleted by a later layer but is in the SBOM")
	}
	// libc6's licence is in the base layer; its status entry in the app
	// layer: the squash must keep both.
	if l := pkgs["libc6"].Licenses; len(l) == 0 || !strings.HasPrefix(l[0], "LGPL-2.1") {
		t.Errorf("libc6 licences = %v, want LGPL-2.1 (from the base layer)", l)
	}
	if l := pkgs["curl"].Licenses; len(l) == 0 {
		t.Errorf("curl licences missing")
	}

	// Every package has a PURL; the Go module has a hash; the graph is
	// rooted at the image and includes the dpkg dependency.
	var comps []map[string]any
	for _, c := range bom["components"].([]any) {
		comps = append(comps, c.(map[string]any))
	}
	for _, c := range comps {
		if c["type"] == "operating-system" {
			continue
		}
		if c["purl"] == nil || c["purl"] == "" {
			t.Errorf("component %v has no purl", c["name"])
		}
		if c["name"] == "golang.org/x/sync" && c["hashes"] == nil {
			t.Error("Go module has no hash although its h1 digest is in the binary")
		}
		if c["name"] == "curl" && c["supplier"] == nil {
			t.Error("curl has no supplier (dpkg Maintainer)")
		}
	}
	deps := map[string][]any{}
	for _, d := range bom["dependencies"].([]any) {
		dm := d.(map[string]any)
		l, _ := dm["dependsOn"].([]any)
		deps[dm["ref"].(string)] = l
	}
	if len(deps[wantPURL]) == 0 {
		t.Error("the image component depends on nothing")
	}
	var curlRef, libcRef string
	for _, c := range comps {
		switch c["name"] {
		case "curl":
			curlRef = c["bom-ref"].(string)
		case "libc6":
			libcRef = c["bom-ref"].(string)
		}
	}
	found := false
	for _, d := range deps[curlRef] {
		found = found || d == libcRef
	}
	if !found {
		t.Errorf("curl does not depend on libc6: %v", deps[curlRef])
	}
}

func TestIrrelevant(t *testing.T) {
	for p, want := range map[string]bool{
		"/srv/app/node_modules/react/index.js":                   true,
		"/srv/app/node_modules/react/package.json":               false,
		"/srv/app/node_modules/react/LICENSE.md":                 false,
		"/usr/share/doc/curl/changelog.Debian.gz":                true,
		"/usr/share/doc/curl/copyright":                          false,
		"/usr/lib/python3/dist-packages/x/__init__.py":           true,
		"/usr/lib/python3/dist-packages/x-1.dist-info/RECORD":    false,
		"/usr/local/bin/app":                                     false,
		"/opt/app/lib/x.jar":                                     false,
		"/var/lib/apt/lists/deb.debian.org_debian_Packages":      true,
		"/var/lib/dpkg/status":                                   false,
		"/usr/share/perl5/Foo.pl":                                true,
		"/usr/local/lib/perl5/perllocal.pod":                     false,
		"/usr/lib/swipl/pack/x/pack.pl":                          false,
		"/srv/app/setup.py":                                      false,
		"/srv/app/node_modules/x/.eslintrc":                      true,
		"/usr/share/doc/linux-modules-6.1.0/changelog.Debian.gz": false,
	} {
		if got := irrelevant(p); got != want {
			t.Errorf("irrelevant(%s) = %v, want %v", p, got, want)
		}
	}
}

func names(d *inventory.SBOM) []string {
	var out []string
	for _, p := range d.Components {
		out = append(out, p.Name)
	}
	return out
}

func TestSPDX(t *testing.T) {
	reg := testregistry.Start(t)
	dig := appImage(t, reg)
	res := generate(t, dig, SPDX, WithSource("https://github.com/example/app", "0123456789abcdef0123456789abcdef01234567"))
	validate(t, SPDX, res.Document)
	var doc struct {
		Packages []struct {
			SPDXID       string `json:"SPDXID"`
			Name         string `json:"name"`
			Download     string `json:"downloadLocation"`
			Supplier     string `json:"supplier"`
			ExternalRefs []struct {
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
		Relationships []struct {
			A, B, Type string
		} `json:"-"`
		CreationInfo struct {
			Created  string   `json:"created"`
			Creators []string `json:"creators"`
		} `json:"creationInfo"`
	}
	if err := json.Unmarshal(res.Document, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.CreationInfo.Created != "2026-01-02T03:04:05Z" {
		t.Errorf("created = %s", doc.CreationInfo.Created)
	}
	var source, base bool
	for _, p := range doc.Packages {
		if p.SPDXID == "SPDXRef-Source" && p.Download == "git+https://github.com/example/app@0123456789abcdef0123456789abcdef01234567" {
			source = true
		}
		if p.SPDXID == "SPDXRef-BaseImage" && strings.Contains(p.ExternalRefs[0].Locator, "b2a2e2f5") {
			base = true
		}
	}
	if !source || !base {
		t.Errorf("source package %v, base image package %v", source, base)
	}
	d, err := inventory.Decode(res.Document)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Subject, "pkg:oci/app@sha256%3A"+dig.DigestStr()[7:]) {
		t.Errorf("subject = %s", d.Subject)
	}
	pkgs := byName(t, d)
	for _, n := range []string{"curl", "libc6", "left-pad", "requests", "golang.org/x/sync"} {
		if pkgs[n].PURL == "" {
			t.Errorf("package %s missing or without purl", n)
		}
	}
}

// tlog sends library progress to the test log.
type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) {
	l.t.Helper()
	l.t.Logf("%s", strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}
