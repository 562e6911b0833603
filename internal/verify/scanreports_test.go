package verify_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
)

// TestScanReportsAsConformaReadsThem: an image whose scan attached a Clair
// report and whose PipelineRun provenance (Chains' slsa-tekton, which
// records each TaskRun) carries the scan's REPORTS result is found by
// rules reading them as Conforma's cve rules do (testdata/scanreports);
// without the report the rules say so.
func TestScanReportsAsConformaReadsThem(t *testing.T) {
	e := setup(t)
	im := e.goodImage("app")
	im.BuildType = "https://tekton.dev/chains/v2/slsa-tekton"
	im.Vulns = [][2]string{{"CVE-2026-0001", "high"}, {"CVE-2026-0002", "low"}}
	plain := e.push(t, im)
	im.Repo, im.ClairReport = e.reg+"/reported", true
	reported := e.push(t, im)

	pol := &ecp.Policy{Name: "scan reports", Sources: []ecp.Source{{Name: "reports", Policy: []string{"testdata/scanreports"}}}}
	rep := e.verify(t, pol, []verify.Image{{Name: "plain", Ref: plain.String()}, {Name: "reported", Ref: reported.String()}})
	got := map[string][]string{}
	for _, c := range rep.Components {
		if c.Error != "" {
			t.Fatalf("%s: %s", c.Name, c.Error)
		}
		for _, v := range c.Violations {
			got[c.Name] = append(got[c.Name], v.Metadata.Code)
		}
		for _, w := range c.Warnings {
			got[c.Name] = append(got[c.Name], w.Msg)
		}
		sort.Strings(got[c.Name])
	}
	if s := strings.Join(got["plain"], ";"); s != "scan_reports.found" {
		t.Errorf("without a report: %s", s)
	}
	// The fixture's findings have no fixed version: unpatched.
	if s := strings.Join(got["reported"], ";"); s != "CVE-2026-0001 high patched=false;CVE-2026-0002 low patched=false" {
		t.Errorf("with a report: %s", s)
	}
}
