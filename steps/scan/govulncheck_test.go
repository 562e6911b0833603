package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/scan/testdb"
)

func TestGoBinariesAgreeWithGovulncheck(t *testing.T) {
	osvDir, govulncheck := testdb.GovulncheckOracle(t)
	cache := t.TempDir()
	for _, name := range []string{"xtext", "gin"} {
		t.Run(name, func(t *testing.T) {
			bin := testdb.BuildProgram(t, name)
			want := govulncheck(t, bin)
			if len(want) == 0 {
				t.Fatal("govulncheck found nothing: the old module versions should have advisories")
			}
			sbom := filepath.Join(t.TempDir(), "sbom.cdx.json")
			if err := os.WriteFile(sbom, testdb.GoVersionSBOM(t, bin), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "report.json")
			o := runScan(t, "--sbom", sbom, "--db", osvDir, "--db-cache", cache, "--format", "json", "--output", out)
			if o.code != exitcode.OK {
				t.Fatalf("exit %d\n%s", o.code, o.stderr)
			}
			testdb.CheckSameAsGovulncheck(t, name, readReport(t, out), want)
		})
	}
}
