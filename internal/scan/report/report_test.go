package report

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/golden"
	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/misconfig"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

func load(t *testing.T) *finding.Report {
	t.Helper()
	f, err := os.Open("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func configReport(t *testing.T) *finding.Report {
	t.Helper()
	res, err := misconfig.Dir("../misconfig/testdata/src")
	if err != nil {
		t.Fatal(err)
	}
	return &finding.Report{Tool: "trustline-scan", Version: "test", Timestamp: "2026-11-26T10:00:00Z", Subject: "src",
		Misconfigurations: res.Findings, Rules: misconfig.Rules}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  func(*testing.T) *finding.Report
	}{{"vulns", load}, {"config", configReport}} {
		for _, format := range Formats {
			t.Run(tc.name+"."+format, func(t *testing.T) {
				var buf bytes.Buffer
				if tc.name == "config" && format == "clair" {
					if err := Write(&buf, format, tc.rep(t)); err == nil || !strings.Contains(err.Error(), "configuration scan") {
						t.Errorf("clair format of a config scan: %v, want an error", err)
					}
					return
				}
				if err := Write(&buf, format, tc.rep(t)); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, tc.name+".golden."+format, buf.Bytes())
			})
		}
	}
}

// Formats (what --help lists) and the writers are the same set, and an
// unknown format is refused by name.
func TestFormatsAndWriters(t *testing.T) {
	if len(Formats) != len(writers) {
		t.Errorf("%d formats listed, %d writers", len(Formats), len(writers))
	}
	for _, f := range Formats {
		if writers[f] == nil {
			t.Errorf("format %q has no writer", f)
		}
	}
	if err := Write(io.Discard, "yaml", &finding.Report{}); err == nil || !strings.Contains(err.Error(), `"yaml"`) {
		t.Errorf("unknown format: %v", err)
	}
}

func TestCycloneDXSchemaAndContent(t *testing.T) {
	var buf bytes.Buffer
	if err := CycloneDX(&buf, load(t)); err != nil {
		t.Fatal(err)
	}
	sharedtest.ValidateCycloneDX(t, buf.Bytes())
	var bom struct {
		SpecVersion     string `json:"specVersion"`
		Vulnerabilities []struct {
			ID         string `json:"id"`
			References []struct {
				ID string `json:"id"`
			} `json:"references"`
			Ratings []struct {
				Severity string `json:"severity"`
				Method   string `json:"method"`
			} `json:"ratings"`
			Analysis *struct {
				State, Justification, Detail string
			} `json:"analysis"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
		} `json:"vulnerabilities"`
		Components []struct {
			BOMRef string `json:"bom-ref"`
		} `json:"components"`
	}
	if err := json.Unmarshal(buf.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != "1.6" || len(bom.Vulnerabilities) != 4 || len(bom.Components) != 4 {
		t.Fatalf("spec %s, %d vulnerabilities, %d components", bom.SpecVersion, len(bom.Vulnerabilities), len(bom.Components))
	}
	refs := map[string]bool{}
	for _, c := range bom.Components {
		refs[c.BOMRef] = true
	}
	for _, v := range bom.Vulnerabilities {
		if len(v.Affects) != 1 || !refs[v.Affects[0].Ref] {
			t.Errorf("%s affects %v, not a component", v.ID, v.Affects)
		}
		if len(v.References) == 0 {
			t.Errorf("%s lost its aliases", v.ID)
		}
		switch v.ID {
		case "RUSTSEC-2019-0009":
			if v.Ratings[0].Severity != "critical" || v.Ratings[0].Method != "CVSSv31" {
				t.Errorf("rating %+v", v.Ratings[0])
			}
		case "GO-2020-0015":
			if v.Analysis == nil || v.Analysis.State != "not_affected" || v.Analysis.Justification != "code_not_reachable" ||
				!strings.Contains(v.Analysis.Detail, "utf16 decoding is never used") {
				t.Errorf("suppressed finding analysis %+v", v.Analysis)
			}
		default:
			if v.Analysis != nil {
				t.Errorf("%s: unanalysed finding carries analysis %+v", v.ID, v.Analysis)
			}
		}
	}
}

func TestSARIFShape(t *testing.T) {
	for _, rep := range []*finding.Report{load(t), configReport(t)} {
		var buf bytes.Buffer
		if err := SARIF(&buf, rep); err != nil {
			t.Fatal(err)
		}
		var log struct {
			Version string `json:"version"`
			Runs    []struct {
				Tool struct {
					Driver struct {
						Rules []struct {
							ID string `json:"id"`
						} `json:"rules"`
					} `json:"driver"`
				} `json:"tool"`
				Results []struct {
					RuleID    string `json:"ruleId"`
					RuleIndex int    `json:"ruleIndex"`
					Level     string `json:"level"`
					Locations []struct {
						PhysicalLocation struct {
							ArtifactLocation struct{ URI string }     `json:"artifactLocation"`
							Region           *struct{ StartLine int } `json:"region"`
						} `json:"physicalLocation"`
					} `json:"locations"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
			t.Fatal(err)
		}
		if log.Version != "2.1.0" || len(log.Runs) != 1 {
			t.Fatalf("version %s, %d runs", log.Version, len(log.Runs))
		}
		run := log.Runs[0]
		want := len(rep.Vulnerabilities) + len(rep.Suppressed) + len(rep.Misconfigurations)
		if len(run.Results) != want {
			t.Fatalf("%d results, want %d", len(run.Results), want)
		}
		for _, r := range run.Results {
			if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
				t.Errorf("result %s points at rule %s", r.RuleID, run.Tool.Driver.Rules[r.RuleIndex].ID)
			}
			if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
				t.Errorf("result %s without a location", r.RuleID)
			}
			if strings.HasPrefix(r.RuleID, "TL-") && (r.Locations[0].PhysicalLocation.Region == nil || r.Locations[0].PhysicalLocation.Region.StartLine == 0) {
				t.Errorf("misconfiguration %s without a line", r.RuleID)
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := load(t)
	var buf bytes.Buffer
	if err := JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	r2, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, r2) {
		t.Fatalf("round trip changed the report:\n%+v\n%+v", r, r2)
	}
	for _, rep := range []*finding.Report{{}, configReport(t)} {
		buf.Reset()
		if err := JSON(&buf, rep); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(&buf)
		if err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(rep, back) {
			t.Fatalf("round trip changed the report:\n%+v\n%+v", rep, back)
		}
	}
}

// The cosign-vuln predicate carries the CycloneDX report (valid CycloneDX
// 1.6) as scanner.result, with the fields cosign's CosignVulnPredicate
// reads.
func TestCosignVuln(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "cosign-vuln", load(t)); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Invocation map[string]any `json:"invocation"`
		Scanner    struct {
			URI     string          `json:"uri"`
			Version string          `json:"version"`
			Result  json.RawMessage `json:"result"`
		} `json:"scanner"`
		Metadata struct {
			ScanStartedOn  string `json:"scanStartedOn"`
			ScanFinishedOn string `json:"scanFinishedOn"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(buf.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Invocation == nil || p.Scanner.URI == "" || p.Scanner.Version == "" || p.Metadata.ScanStartedOn == "" || p.Metadata.ScanFinishedOn == "" {
		t.Errorf("incomplete predicate: %s", buf.Bytes())
	}
	sharedtest.ValidateCycloneDX(t, p.Scanner.Result)
	var cdx bytes.Buffer
	if err := CycloneDX(&cdx, load(t)); err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(p.Scanner.Result, &a)
	json.Unmarshal(cdx.Bytes(), &b)
	if !reflect.DeepEqual(a, b) {
		t.Error("scanner.result is not the CycloneDX report")
	}
}
