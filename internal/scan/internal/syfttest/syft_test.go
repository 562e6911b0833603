package syfttest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/format"
	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/sbom"
	_ "modernc.org/sqlite" // syft's RPM database reader needs the driver

	"github.com/trustline-dev/trustline/internal/scan"
	"github.com/trustline-dev/trustline/internal/scan/testdb"
)

// TestSyftSBOMsAgreeWithGovulncheck builds a binary against old modules,
// catalogs it with syft (as the sbom step does), encodes the SBOM as
// CycloneDX and SPDX JSON with syft's own encoders, scans both and
// compares the findings with govulncheck's.
func TestSyftSBOMsAgreeWithGovulncheck(t *testing.T) {
	osvDir, govulncheck := testdb.GovulncheckOracle(t)
	bin := testdb.BuildProgram(t, "gin")
	want := govulncheck(t, bin)

	dir := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := syft.GetSource(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := syft.CreateSBOM(ctx, src, syft.DefaultCreateSBOMConfig())
	if err != nil {
		t.Fatal(err)
	}
	cdxEnc, err := cyclonedxjson.NewFormatEncoderWithConfig(cyclonedxjson.DefaultEncoderConfig())
	if err != nil {
		t.Fatal(err)
	}
	spdxEnc, err := spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for _, enc := range []sbom.FormatEncoder{cdxEnc, spdxEnc} {
		t.Run(string(enc.ID()), func(t *testing.T) {
			doc, err := format.Encode(*s, enc)
			if err != nil {
				t.Fatal(err)
			}
			if enc.ID() == cdxEnc.ID() && !strings.Contains(string(doc), `"version": "go1.`) && !strings.Contains(string(doc), `"version":"go1.`) {
				t.Errorf("syft no longer spells the standard library go1.x.y; the test lost its point:\n%.2000s", doc)
			}
			rep, err := scan.Vulnerabilities(doc, "syft", osvDir, scan.WithDBCache(cache), scan.WithGOOS("linux"))
			if err != nil {
				t.Fatal(err)
			}
			testdb.CheckSameAsGovulncheck(t, "syft's "+string(enc.ID())+" SBOM", rep, want)
		})
	}
}
