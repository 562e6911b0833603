package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/scan"
	"github.com/trustline-dev/trustline/internal/sharedtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func pushImage(t *testing.T, ref string) (name.Digest, v1.Descriptor) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := testregistry.Push(t, ref, img)
	desc, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	return d, *desc
}

// attachReferrer pushes doc as an OCI 1.1 artifact whose subject is the
// image, the way the sbom step attaches SBOMs.
func attachReferrer(t *testing.T, img name.Digest, subject v1.Descriptor, doc []byte, artifactType string, created time.Time) {
	t.Helper()
	repo := img.Context()
	blob := static.NewLayer(doc, types.MediaType(artifactType))
	if err := remote.WriteLayer(repo, blob); err != nil {
		t.Fatal(err)
	}
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	if err := remote.WriteLayer(repo, cfg); err != nil {
		t.Fatal(err)
	}
	bd, _ := blob.Digest()
	cd, _ := cfg.Digest()
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Config:      v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Size: 2, Digest: cd},
		Layers:      []v1.Descriptor{{MediaType: types.MediaType(artifactType), Size: int64(len(doc)), Digest: bd}},
		Subject:     &subject,
		Annotations: map[string]string{"org.opencontainers.image.created": created.UTC().Format(time.RFC3339)},
	}
	raw, _ := json.Marshal(m)
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	if err := remote.Put(repo.Digest(h.String()), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
}

// attachCosignTag pushes doc under repo:sha256-<hex>.sbom, as `cosign
// attach sbom` does.
func attachCosignTag(t *testing.T, img name.Digest, doc []byte, mediaType string) {
	t.Helper()
	i := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	i = mutate.ConfigMediaType(i, types.OCIConfigJSON)
	i, err := mutate.Append(i, mutate.Addendum{Layer: static.NewLayer(doc, types.MediaType(mediaType))})
	if err != nil {
		t.Fatal(err)
	}
	tag := img.Context().Tag(strings.Replace(img.DigestStr(), ":", "-", 1) + ".sbom")
	if err := remote.Write(tag, i); err != nil {
		t.Fatal(err)
	}
}

func spdxDoc() []byte {
	return []byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[
 {"SPDXID":"SPDXRef-a","name":"golang.org/x/text","versionInfo":"v0.3.0","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/text@v0.3.0"}]}]}`)
}

// imageScanSetup starts the registry the tests push images to and returns
// it with the OSV database, a fresh name-index cache and the SBOM they
// attach (testdata/small.cdx.json, with a vulnerable smallvec).
func imageScanSetup(t *testing.T) (reg, db, cache string, cdx []byte) {
	t.Helper()
	reg = testregistry.Start(t)
	db, cache = sharedtest.OSV(t), t.TempDir()
	cdx, err := os.ReadFile("testdata/small.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	return reg, db, cache, cdx
}

func TestImageAttachments(t *testing.T) {
	reg, db, cache, cdx := imageScanSetup(t)

	// Referrers win over the tag, and the newest referrer wins.
	withBoth, desc := pushImage(t, reg+"/app:both")
	attachCosignTag(t, withBoth, spdxDoc(), "spdx+json")
	old := []byte(strings.Replace(string(cdx), "0.6.9", "1.11.0", 1)) // an older SBOM without the vulnerable smallvec
	attachReferrer(t, withBoth, desc, old, "application/vnd.cyclonedx+json", time.Now().Add(-time.Hour))
	attachReferrer(t, withBoth, desc, cdx, "application/vnd.cyclonedx+json", time.Now())
	o := runScan(t, "--image", reg+"/app:both", "--db", db, "--db-cache", cache)
	if o.code != exitcode.OK || !strings.Contains(o.stderr, "from referrer sha256:") {
		t.Fatalf("exit %d; stderr:\n%s", o.code, o.stderr)
	}
	if !strings.Contains(o.stdout, "RUSTSEC-2019-0009") {
		t.Errorf("newest referrer SBOM not used:\n%s", o.stdout)
	}

	// Only cosign's tag (SPDX, as cosign spells its media type).
	withTag, _ := pushImage(t, reg+"/app:tag")
	attachCosignTag(t, withTag, spdxDoc(), "spdx+json")
	o = runScan(t, "--image", reg+"/app", "--image-digest", withTag.DigestStr(), "--db", db, "--db-cache", cache, "--fail-on", "low")
	if o.code != exitcode.OK || !strings.Contains(o.stderr, ".sbom") {
		t.Fatalf("exit %d; stderr:\n%s", o.code, o.stderr)
	}
	if to := o.testOutput(t); to.Result != results.Warning || to.Warnings == 0 {
		t.Errorf("TEST_OUTPUT %+v: Go advisories carry no severity, so they warn", to)
	}

	// No SBOM at all: ERROR, exit 2.
	bare, _ := pushImage(t, reg+"/app:bare")
	o = runScan(t, "--image", bare.String(), "--db", db)
	if o.code != exitcode.Error || o.testOutput(t).Result != results.Error || !strings.Contains(o.testOutput(t).Note, "no SBOM") {
		t.Fatalf("exit %d, %+v", o.code, o.testOutput(t))
	}
}

// TestAttachClairReport: --attach-report attaches the findings to the
// scanned image as a Clair report and names it in REPORTS, the way
// Conforma's cve rules find it: REPORTS[<image digest>] is the digest of a
// manifest in the image's repository with a layer of type
// application/vnd.redhat.clair-report+json, whose vulnerabilities carry
// name, normalized_severity and fixed_in_version.
func TestAttachClairReport(t *testing.T) {
	reg, db, cache, cdx := imageScanSetup(t)
	img, desc := pushImage(t, reg+"/app:v1")
	attachReferrer(t, img, desc, cdx, "application/vnd.cyclonedx+json", time.Now())
	o := runScan(t, "--image", reg+"/app:v1", "--db", db, "--db-cache", cache, "--attach-report", "--format", "json")
	if o.code != exitcode.OK {
		t.Fatalf("exit %d; stderr:\n%s", o.code, o.stderr)
	}
	raw, err := o.results.Read("REPORTS")
	if err != nil {
		t.Fatal(err)
	}
	var reports map[string]string
	if err := json.Unmarshal([]byte(raw), &reports); err != nil || len(reports) != 1 {
		t.Fatalf("REPORTS %q: %v", raw, err)
	}
	reportDigest, ok := reports[img.DigestStr()]
	if !ok {
		t.Fatalf("REPORTS %v lacks the image digest %s", reports, img.DigestStr())
	}
	ref := img.Context().Digest(reportDigest)
	m, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	man, _ := m.Manifest()
	if man.Subject == nil || man.Subject.Digest.String() != img.DigestStr() {
		t.Errorf("report subject %+v, want the image", man.Subject)
	}
	var clair struct {
		Vulnerabilities map[string]struct {
			Name               string `json:"name"`
			NormalizedSeverity string `json:"normalized_severity"`
			FixedInVersion     string `json:"fixed_in_version"`
		} `json:"vulnerabilities"`
	}
	found := 0
	for _, l := range man.Layers {
		if l.MediaType != "application/vnd.redhat.clair-report+json" {
			continue
		}
		found++
		blob, err := remote.Layer(img.Context().Digest(l.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := blob.Compressed()
		if err := json.NewDecoder(rc).Decode(&clair); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	if found != 1 {
		t.Fatalf("%d clair-report layers in %+v", found, man.Layers)
	}
	// The counts Conforma derives from the report equal SCAN_OUTPUT's.
	so := o.scanOutput(t)
	count := map[bool]map[string]int{true: {}, false: {}}
	for _, v := range clair.Vulnerabilities {
		count[v.FixedInVersion != ""][strings.ToLower(v.NormalizedSeverity)]++
	}
	for patched, c := range map[bool]*scan.Counts{true: so.Vulnerabilities, false: so.Unpatched} {
		want := map[string]int{"critical": c.Critical, "high": c.High, "medium": c.Medium, "low": c.Low, "unknown": c.Unknown}
		for level, n := range want {
			if count[patched][level] != n {
				t.Errorf("patched=%v %s: report has %d, SCAN_OUTPUT %d", patched, level, count[patched][level], n)
			}
		}
	}
	if len(clair.Vulnerabilities) == 0 {
		t.Error("the report lists no vulnerabilities; the SBOM has a vulnerable smallvec")
	}

	// Without --attach-report REPORTS is {} and nothing is attached.
	o = runScan(t, "--image", img.String(), "--db", db, "--db-cache", cache)
	if raw, _ := o.results.Read("REPORTS"); raw != "{}" {
		t.Errorf("REPORTS without --attach-report: %q", raw)
	}
	// An SBOM file has no image to attach to.
	o = runScan(t, "--sbom", "testdata/small.cdx.json", "--db", db, "--attach-report")
	if o.code != exitcode.Error || !strings.Contains(o.stderr, "--attach-report needs --image") {
		t.Errorf("--attach-report with --sbom: exit %d\n%s", o.code, o.stderr)
	}
}
