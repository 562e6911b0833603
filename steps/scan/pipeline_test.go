package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/sbom"
	"github.com/trustline-dev/trustline/internal/scan/testdb"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// TestSBOMStepThenScan is the pipeline's order: an image holding a Go
// binary built against old modules is pushed, the sbom step's library
// catalogs it and attaches its SBOM (OCI referrer and cosign tag), and
// the scan step reads that SBOM from the registry. The findings must be
// govulncheck's, in both SBOM formats, and when the scan step catalogs
// an image that has no SBOM (--catalog).
func TestSBOMStepThenScan(t *testing.T) {
	osvDir, govulncheck := testdb.GovulncheckOracle(t)
	bin := testdb.BuildProgram(t, "gin")
	want := govulncheck(t, bin)

	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	l := testimage.Layer(t, testimage.File{Name: "usr/local/bin/app", Body: string(data), Mode: 0o755})
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	reg := testregistry.Start(t)
	cache := t.TempDir()
	// "catalog": no SBOM attached, the scan step catalogs the image itself.
	for _, format := range []sbom.Format{sbom.CycloneDX, sbom.SPDX, "catalog"} {
		t.Run(string(format), func(t *testing.T) {
			ref, err := name.ParseReference(reg + "/app-" + string(format) + ":v1")
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			args := []string{"--image", ref.String(), "--db", osvDir, "--db-cache", cache}
			wantLog := "from referrer"
			if format == "catalog" {
				args, wantLog = append(args, "--catalog"), "cataloging the image"
			} else if _, err := sbom.Generate(context.Background(), sbom.Request{Reference: ref, Format: format, Attach: true},
				sbom.WithTempDir(t.TempDir())); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "report.json")
			o := runScan(t, append(args, "--format", "json", "--output", out)...)
			if o.code != exitcode.OK || !strings.Contains(o.stderr, wantLog) {
				t.Fatalf("exit %d\n%s", o.code, o.stderr)
			}
			testdb.CheckSameAsGovulncheck(t, "the "+string(format)+" pipeline's scan", readReport(t, out), want)
		})
	}
}
