package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/sharedtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// A prefetch SBOM as the prefetch step writes it: one Go module and one
// npm package, with purls and hashes.
const prefetchSBOM = `{
  "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
  "serialNumber": "urn:uuid:1a5b7ed3-3856-51ce-8b11-3318f891b105",
  "components": [
    {"bom-ref": "pkg:golang/golang.org/x/text@v0.3.7", "type": "library", "name": "golang.org/x/text", "version": "v0.3.7",
     "purl": "pkg:golang/golang.org/x/text@v0.3.7",
     "hashes": [{"alg": "SHA-256", "content": "e1a9115e61a38da8bdc893d0ba83b65f89cc1114f152a98eb572c5ea6551e8d4"}],
     "properties": [{"name": "trustline:origin", "value": "prefetch"}, {"name": "trustline:prefetch:type", "value": "gomod"}]},
    {"bom-ref": "pkg:npm/left-pad@1.3.0", "type": "library", "name": "left-pad", "version": "1.3.0",
     "purl": "pkg:npm/left-pad@1.3.0",
     "properties": [{"name": "trustline:origin", "value": "prefetch"}]}
  ]
}`

// TestPrefetchSBOM merges the prefetched dependencies into the image's
// CycloneDX SBOM with each component's origin, and the result passes the
// CycloneDX 1.6 schema.
func TestPrefetchSBOM(t *testing.T) {
	reg := testregistry.Start(t)
	dig := testregistry.Push(t, reg+"/acme/app:v1", debian(t))
	pre := filepath.Join(t.TempDir(), "sbom.cdx.json")
	if err := os.WriteFile(pre, []byte(prefetchSBOM), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sbom.json")
	code, _, stderr := runStep(t, "--image", dig.String(), "--output", out, "--prefetch-sbom", pre, "--results-dir", t.TempDir(), "--temp-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sharedtest.ValidateCycloneDX(t, doc)
	var bom struct {
		Components []struct {
			PURL       string `json:"purl"`
			Hashes     []struct{ Content string }
			Properties []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal(doc, &bom); err != nil {
		t.Fatal(err)
	}
	origins := map[string][]string{}
	for _, c := range bom.Components {
		for _, p := range c.Properties {
			if p.Name == "trustline:origin" {
				origins[c.PURL] = append(origins[c.PURL], p.Value)
			}
		}
	}
	if got := origins["pkg:golang/golang.org/x/text@v0.3.7"]; len(got) != 1 || got[0] != "prefetch" {
		t.Errorf("x/text origins %v", got)
	}
	if got := origins["pkg:npm/left-pad@1.3.0"]; len(got) != 1 || got[0] != "prefetch" {
		t.Errorf("left-pad origins %v", got)
	}
	image := 0
	for purl, o := range origins {
		if strings.HasPrefix(purl, "pkg:deb/") && len(o) == 1 && o[0] == "image" {
			image++
		}
	}
	if image < 2 {
		t.Errorf("the image's Debian packages are not marked as found in the image: %v", origins)
	}

	// Absent: nothing was prefetched, the SBOM is the image's alone.
	code, _, stderr = runStep(t, "--image", dig.String(), "--output", out, "--prefetch-sbom", pre+".absent", "--results-dir", t.TempDir(), "--temp-dir", t.TempDir())
	if code != 0 || !strings.Contains(stderr, "nothing was prefetched") {
		t.Fatalf("absent prefetch SBOM: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(out); strings.Contains(string(b), "trustline:origin") {
		t.Error("origins marked without a prefetch SBOM")
	}
	// Not an SBOM, or SPDX asked for: bad input.
	os.WriteFile(pre, []byte(`{"bomFormat":"SPDX"}`), 0o644)
	code, _, stderr = runStep(t, "--image", dig.String(), "--output", out, "--prefetch-sbom", pre, "--results-dir", t.TempDir())
	if code != exitcode.Error || !strings.Contains(stderr, "not CycloneDX") {
		t.Errorf("bad prefetch SBOM: exit %d, %s", code, stderr)
	}
	code, _, stderr = runStep(t, "--image", dig.String(), "--format", "spdx", "--output", out, "--prefetch-sbom", pre, "--results-dir", t.TempDir())
	if code != exitcode.Error || !strings.Contains(stderr, "needs --format cyclonedx") {
		t.Errorf("spdx with a prefetch SBOM: exit %d, %s", code, stderr)
	}
}
