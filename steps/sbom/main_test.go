package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/sbom/sbomtest"
	"github.com/trustline-dev/trustline/internal/scan/inventory"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

func runStep(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return stepcli.Capture(newApp(), append([]string{"sbom"}, args...)...)
}

func debian(t *testing.T) v1.Image {
	return testimage.Image(t, "amd64", map[string]string{
		"org.opencontainers.image.base.name":   "docker.io/library/debian:12",
		"org.opencontainers.image.base.digest": "sha256:" + strings.Repeat("ab", 32),
		"org.opencontainers.image.source":      "https://github.com/acme/app",
		"org.opencontainers.image.revision":    "3f2c1e0",
	}, sbomtest.DebianLayer(t,
		sbomtest.DpkgEntry{Name: "libc6", Version: "2.36-9"},
		sbomtest.DpkgEntry{Name: "curl", Version: "7.88.1-10", Depends: "libc6"},
	))
}

func TestAttachAndResults(t *testing.T) {
	reg := testregistry.Start(t)
	dig := testregistry.Push(t, reg+"/acme/app:v1", debian(t))
	resDir := t.TempDir()
	out := filepath.Join(t.TempDir(), "sbom.spdx.json")
	code, _, stderr := runStep(t, "--image", dig.String(), "--format", "spdx", "--output", out, "--attach",
		"--results-dir", resDir, "--temp-dir", t.TempDir(), "--cache-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d, err := inventory.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != inventory.SPDX || len(d.Components) < 2 {
		t.Errorf("decoded %s with %d packages", d.Format, len(d.Components))
	}
	if !strings.Contains(string(doc), "git+https://github.com/acme/app@3f2c1e0") {
		t.Error("source from the image annotations is missing")
	}
	rd := results.Dir{Path: resDir}
	blobURL, err := rd.Read("SBOM_BLOB_URL")
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := v1.SHA256(bytes.NewReader(doc))
	if want := reg + "/acme/app@" + h.String(); blobURL != want {
		t.Errorf("SBOM_BLOB_URL = %q, want %q (the --output file's digest)", blobURL, want)
	}
	raw, _ := rd.Read("SBOM_ARTIFACT_OUTPUTS")
	var ao map[string]string
	if err := json.Unmarshal([]byte(raw), &ao); err != nil {
		t.Fatalf("SBOM_ARTIFACT_OUTPUTS %q: %v", raw, err)
	}
	if ao["uri"] != reg+"/acme/app" || ao["digest"] != h.String() {
		t.Errorf("SBOM_ARTIFACT_OUTPUTS = %v", ao)
	}
	got, err := cosignoci.New().SBOM(context.Background(), dig)
	if err != nil || !bytes.Equal(got.Data, doc) {
		t.Errorf("attached SBOM differs from --output: %v", err)
	}

	// cosign finds it under its own tag scheme.
	cmd := exec.Command(cosignPath(t), "download", "sbom", "--allow-http-registry", dig.String())
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	var cout, cerr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &cout, &cerr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cosign download sbom: %v\n%s", err, cerr.String())
	}
	if !bytes.Equal(bytes.TrimSpace(cout.Bytes()), bytes.TrimSpace(doc)) {
		t.Errorf("cosign download sbom returned %d bytes, not the SBOM (%s)", cout.Len(), cerr.String())
	}
}

// cosignPath finds cosign v2.6.5 on PATH or in GOPATH/bin; the test fails
// (never skips) without it.
func cosignPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "cosign")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("cosign CLI not found on PATH or in GOPATH/bin; install it with: GOFLAGS= go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5")
	}
	return p
}

func TestOCILayoutToStdout(t *testing.T) {
	dir := t.TempDir()
	img := debian(t)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runStep(t, "--image", "quay.io/acme/app:v1", "--oci-layout", dir, "--output", "-",
		"--results-dir", t.TempDir(), "--temp-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	d, err := inventory.Decode([]byte(stdout))
	if err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	if !strings.Contains(d.Subject, dg.Hex) || !strings.Contains(d.Subject, "repository_url=quay.io%2Facme%2Fapp") {
		t.Errorf("subject = %s", d.Subject)
	}
}

// --output /dev/null is written through, never replaced by a regular file
// (issue 12: scripts/bench/sbom.sh turned the machine's /dev/null into one).
func TestOutputToDevNull(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(debian(t)); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(os.DevNull)
	if err != nil || before.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is not a character device before the test: %v", os.DevNull, err)
	}
	code, _, stderr := runStep(t, "--image", "quay.io/acme/app:v1", "--oci-layout", dir, "--output", os.DevNull,
		"--results-dir", t.TempDir(), "--temp-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	after, err := os.Stat(os.DevNull)
	if err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
		t.Fatalf("%s was replaced: %v before, %v after (%v)", os.DevNull, before.Mode(), after.Mode(), err)
	}
}

func TestMultiArchOutputs(t *testing.T) {
	reg := testregistry.Start(t)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: debian(t), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: testimage.Image(t, "arm64", nil, sbomtest.DebianLayer(t, sbomtest.DpkgEntry{Name: "libc6", Version: "2.36-9"})),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref, _ := name.ParseReference(reg + "/acme/multi:v1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sbom.json")
	code, _, stderr := runStep(t, "--image", ref.String(), "--output", out, "--results-dir", t.TempDir(), "--temp-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"sbom.json", "sbom.linux-amd64.json", "sbom.linux-arm64.json"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(out), f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	reg := testregistry.Start(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--image", "UPPER/Case::x"}, "--image"},
		{[]string{"--image", reg + "/a/b:1", "--format", "xml"}, "--format"},
		{[]string{"--image", reg + "/no/such:image"}, reg + "/no/such:image"},
		{[]string{"--image", "x/y:1", "--oci-layout", "/nonexistent"}, "--oci-layout /nonexistent"},
		{[]string{}, "image"},
	} {
		resDir := t.TempDir()
		out := filepath.Join(t.TempDir(), "out.json")
		code, _, stderr := runStep(t, append(tc.args, "--results-dir", resDir, "--output", out)...)
		if code != exitcode.Error {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr %q does not name %q", tc.args, stderr, tc.want)
		}
		if ents, _ := os.ReadDir(resDir); len(ents) != 0 {
			t.Errorf("%v: results written on error", tc.args)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: output written on error", tc.args)
		}
	}
}

// The task passes every parameter, empty or not, as the task YAML does.
func TestTaskArguments(t *testing.T) {
	reg := testregistry.Start(t)
	dig := testregistry.Push(t, reg+"/acme/app:v1", debian(t))
	outDir := t.TempDir()
	code, _, stderr := runStep(t, "--image="+reg+"/acme/app:v1", "--digest="+dig.DigestStr(), "--format=cyclonedx",
		"--source-url=", "--source-commit=", "--supplier=Acme", "--attach=false", "--tls-verify=true",
		"--cache-dir=", "--output-dir="+outDir, "--output-name=sboms/app.json", "--results-dir="+t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := os.ReadFile(filepath.Join(outDir, "sboms", "app.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"Acme"`) || !strings.Contains(string(doc), dig.DigestStr()[7:]) {
		t.Error("SBOM lacks the supplier or the pinned digest")
	}
	code, _, stderr = runStep(t, "--image="+dig.String(), "--digest=sha256:"+strings.Repeat("0", 64), "--results-dir="+t.TempDir())
	if code != exitcode.Error || !strings.Contains(stderr, "disagrees") {
		t.Errorf("conflicting digest: exit %d, %s", code, stderr)
	}
	code, _, stderr = runStep(t, "--image="+dig.String(), "--output-dir="+outDir, "--output-name=../escape.json", "--results-dir="+t.TempDir())
	if code != exitcode.Error || !strings.Contains(stderr, "--output-name") {
		t.Errorf("escaping output name: exit %d, %s", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runStep(t, "--help")
	if code != 0 || !strings.Contains(stdout, "Example:") {
		t.Errorf("--help: exit %d, no example", code)
	}
}
