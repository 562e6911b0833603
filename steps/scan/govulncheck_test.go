package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/testdb"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// govulncheckOracle returns the OSV database directory the scans read,
// and govulncheck's findings for a Go binary made from the Go part of the
// same database: what the scan's findings are compared with.
func govulncheckOracle(t *testing.T) (osvDir string, govulncheck func(t *testing.T, bin string) []string) {
	t.Helper()
	tool := testdb.Govulncheck(t)
	osvDir = sharedtest.OSV(t)
	vulndb := testdb.GoVulnDB(t, filepath.Join(osvDir, "Go", "all.zip"))
	return osvDir, func(t *testing.T, bin string) []string {
		t.Helper()
		return testdb.GovulncheckFindings(t, tool, vulndb, bin)
	}
}

// checkSameAsGovulncheck compares a report's findings with govulncheck's,
// in govulncheck's terms: "ID module", sorted.
func checkSameAsGovulncheck(t *testing.T, rep *finding.Report, want []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range rep.Vulnerabilities {
		seen[v.ID+" "+v.Package.Name] = true
	}
	got := slices.Sorted(maps.Keys(seen))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings differ from govulncheck %s\nours:\n  %s\ngovulncheck:\n  %s", testdb.GovulncheckVersion,
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	t.Logf("%d findings, same as govulncheck: %v", len(got), got)
}

func TestGoBinariesAgreeWithGovulncheck(t *testing.T) {
	osvDir, govulncheck := govulncheckOracle(t)
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
			checkSameAsGovulncheck(t, readReport(t, out), want)
		})
	}
}
