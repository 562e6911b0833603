package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/scan/testdb"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

func TestGoBinariesAgreeWithGovulncheck(t *testing.T) {
	tool := testdb.Govulncheck(t)
	osvDir := sharedtest.OSV(t)
	vulndb := testdb.GoVulnDB(t, filepath.Join(osvDir, "Go", "all.zip"))
	cache := t.TempDir()
	for _, name := range []string{"xtext", "gin"} {
		t.Run(name, func(t *testing.T) {
			bin := testdb.BuildProgram(t, name)
			want := testdb.GovulncheckFindings(t, tool, vulndb, bin)
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
			seen := map[string]bool{}
			for _, v := range readReport(t, out).Vulnerabilities {
				seen[v.ID+" "+v.Package.Name] = true
			}
			got := testdb.Keys(seen)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("findings differ from govulncheck %s\nours:\n  %s\ngovulncheck:\n  %s", testdb.GovulncheckVersion,
					strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			t.Logf("%d findings, same as govulncheck: %v", len(got), got)
		})
	}
}
