package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func runStep(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return stepcli.Capture(newApp(), append([]string{"prefetch"}, args...)...)
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runStep(t, "--help")
	if code != 0 || !strings.Contains(stdout, "Example:") {
		t.Errorf("--help: exit %d, no example", code)
	}
}

// The task passes every parameter, empty or not, as the task YAML does.
func TestTaskArguments(t *testing.T) {
	blob := []byte("tool\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(blob) }))
	defer srv.Close()
	sum := sha256.Sum256(blob)
	src := t.TempDir()
	lock := "metadata:\n  version: \"1.0\"\nartifacts:\n  - download_url: " + srv.URL + "/tool.txt\n    checksum: sha256:" + hex.EncodeToString(sum[:]) + "\n"
	if err := os.WriteFile(filepath.Join(src, "artifacts.lock.yaml"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	resDir := t.TempDir()
	code, stdout, stderr := runStep(t, `--input=[{"type":"generic"}]`, "--source="+src, "--output-dir="+src+"/.prefetch",
		"--cache-dir=", "--goproxy=", "--pip-index=", "--results-dir="+resDir, "--output=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		SBOMDigest, SBOMSerial string
		Components             int
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Components != 1 {
		t.Fatalf("--output json: %q %v", stdout, err)
	}
	rd := results.Dir{Path: resDir}
	if d, _ := rd.Read("SBOM_DIGEST"); d != res.SBOMDigest || !strings.HasPrefix(d, "sha256:") {
		t.Errorf("SBOM_DIGEST %q", d)
	}
	raw, _ := rd.Read("PREFETCH_ARTIFACT_INPUTS")
	var in map[string]string
	if err := json.Unmarshal([]byte(raw), &in); err != nil || in["uri"] != res.SBOMSerial || in["digest"] != res.SBOMDigest {
		t.Errorf("PREFETCH_ARTIFACT_INPUTS %q", raw)
	}
	sbom, _ := os.ReadFile(filepath.Join(src, ".prefetch", "sbom.cdx.json"))
	got := sha256.Sum256(sbom)
	if "sha256:"+hex.EncodeToString(got[:]) != res.SBOMDigest {
		t.Error("SBOM_DIGEST is not the digest of sbom.cdx.json")
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--input=cargo", "--output-dir=" + t.TempDir()}, `type "cargo"`},
		{[]string{"--input=gomod", "--source=" + t.TempDir(), "--output-dir=" + t.TempDir()}, "go.mod"},
		{[]string{"--input=gomod", "--output-dir=" + t.TempDir(), "--output=yaml"}, "--output"},
		{[]string{"--input=gomod", "--output-dir=" + t.TempDir(), "--goproxy=direct"}, "names no proxy URL"},
	} {
		code, _, stderr := runStep(t, append(c.args, "--results-dir="+t.TempDir())...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s (want 2 and %q)", c.args, code, stderr, c.want)
		}
	}
}
