package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/scan"
	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/sharedtest"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

type outcome struct {
	code           int
	stdout, stderr string
	results        results.Dir
}

func runScan(t *testing.T, args ...string) outcome {
	t.Helper()
	// Without --db-cache the step keeps its name index in the user's
	// cache directory (the shared database is read-only): a fresh one.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	res := results.Dir{Path: t.TempDir()}
	code, stdout, stderr := stepcli.Capture(newApp(), append([]string{"scan", "--results-dir", res.Path}, args...)...)
	return outcome{code: code, stdout: stdout, stderr: stderr, results: res}
}

func (o outcome) testOutput(t *testing.T) results.TestOutput {
	t.Helper()
	s, err := o.results.Read("TEST_OUTPUT")
	if err != nil {
		t.Fatalf("TEST_OUTPUT not written: %v\nstderr:\n%s", err, o.stderr)
	}
	var to results.TestOutput
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&to); err != nil {
		t.Fatalf("TEST_OUTPUT %q: %v", s, err)
	}
	if to.Timestamp == "" || to.Namespace != "default" || to.Note == "" {
		t.Errorf("TEST_OUTPUT %q lacks timestamp, namespace or note", s)
	}
	return to
}

func (o outcome) scanOutput(t *testing.T) scan.ScanOutput {
	t.Helper()
	s, err := o.results.Read("SCAN_OUTPUT")
	if err != nil {
		t.Fatalf("SCAN_OUTPUT not written: %v", err)
	}
	var so scan.ScanOutput
	if err := json.Unmarshal([]byte(s), &so); err != nil {
		t.Fatal(err)
	}
	return so
}

func readReport(t *testing.T, path string) *finding.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r finding.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestGatingAndVEX(t *testing.T) {
	db, cache := sharedtest.OSV(t), t.TempDir()
	out := filepath.Join(t.TempDir(), "report.json")
	o := runScan(t, "--sbom", "testdata/mixed.cdx.json", "--db", db, "--db-cache", cache, "--fail-on", "high", "--format", "json", "--output", out)
	if o.code != exitcode.Failed {
		t.Fatalf("exit %d, want 1 (critical RUSTSEC-2019-0009 at --fail-on high)\n%s", o.code, o.stderr)
	}
	to := o.testOutput(t)
	if to.Result != results.Failure || to.Failures == 0 || to.Warnings == 0 {
		t.Errorf("TEST_OUTPUT %+v", to)
	}
	rep := readReport(t, out)
	found := map[string]finding.Vulnerability{}
	for _, v := range rep.Vulnerabilities {
		found[v.ID+" "+v.Package.Ecosystem] = v
	}
	for _, id := range []string{"RUSTSEC-2019-0009 crates.io", "GO-2021-0113 Go", "ALSA-2026:25239 AlmaLinux:9"} {
		if _, ok := found[id]; !ok {
			t.Errorf("missing %s", id)
		}
	}
	if v := found["RUSTSEC-2019-0009 crates.io"]; v.Severity != "critical" || !strings.HasPrefix(v.Vector, "CVSS:3") {
		t.Errorf("RUSTSEC-2019-0009 severity %s vector %q", v.Severity, v.Vector)
	}
	// AlmaLinux 8 and 9 advisories each apply to their own release only.
	n8, n9 := 0, 0
	for _, v := range rep.Vulnerabilities {
		switch v.Package.Ecosystem {
		case "AlmaLinux:8":
			n8++
			if !strings.Contains(v.FixedVersion, "el8") {
				t.Errorf("AlmaLinux:8 package matched %s fixed in %s", v.ID, v.FixedVersion)
			}
		case "AlmaLinux:9":
			n9++
			if !strings.Contains(v.FixedVersion, "el9") {
				t.Errorf("AlmaLinux:9 package matched %s fixed in %s", v.ID, v.FixedVersion)
			}
		}
	}
	if n8 == 0 || n9 == 0 {
		t.Errorf("AlmaLinux:8 findings %d, AlmaLinux:9 findings %d; want both", n8, n9)
	}
	if rep.Unmatched != 1 {
		t.Errorf("unmatched %d, want 1 (npm is not in the database)", rep.Unmatched)
	}
	so := o.scanOutput(t)
	if so.Vulnerabilities.Critical == 0 || so.Suppressed != 0 {
		t.Errorf("SCAN_OUTPUT %+v", so)
	}

	// The OpenVEX statement (by CVE alias) and the CycloneDX VEX (by
	// bom-ref, or PURL of its own component) suppress the three critical ones.
	o = runScan(t, "--sbom", "testdata/small.cdx.json", "--db", db, "--db-cache", cache, "--fail-on", "critical",
		"--vex", "testdata/smallvec.openvex.json,testdata/smallvec.cdx-vex.json", "--vex", "", "--format", "json", "--output", out)
	if o.code != exitcode.OK {
		t.Fatalf("exit %d with VEX, want 0\n%s", o.code, o.stderr)
	}
	if to := o.testOutput(t); to.Result != results.Warning || to.Failures != 0 {
		t.Errorf("TEST_OUTPUT with VEX %+v", to)
	}
	rep = readReport(t, out)
	sup := map[string]*finding.Suppression{}
	for _, v := range rep.Suppressed {
		sup[v.ID] = v.Suppression
	}
	if s := sup["RUSTSEC-2019-0009"]; len(sup) != 3 || s == nil || s.Justification != "vulnerable_code_not_in_execute_path" || s.Status != "not_affected" {
		t.Fatalf("suppressed %+v", rep.Suppressed)
	}
	if s := sup["RUSTSEC-2019-0012"]; s == nil || s.Status != "fixed" || s.Statement != "patched in our fork of smallvec" {
		t.Fatalf("CycloneDX VEX suppression %+v", s)
	}
	if so := o.scanOutput(t); so.Suppressed != 3 {
		t.Errorf("SCAN_OUTPUT %+v", so)
	}

	// --report-only: the verdict is reported, the exit code is 0.
	o = runScan(t, "--sbom", "testdata/mixed.cdx.json", "--db", db, "--db-cache", cache, "--fail-on", "low", "--report-only")
	if o.code != exitcode.OK || o.testOutput(t).Result != results.Failure {
		t.Errorf("--report-only: exit %d, TEST_OUTPUT %+v", o.code, o.testOutput(t))
	}
	if !strings.Contains(o.stdout, "RUSTSEC-2019-0009") {
		t.Errorf("table on stdout lacks the finding:\n%s", o.stdout)
	}
}

func TestMissingOrCorruptDatabaseIsError(t *testing.T) {
	corrupt := t.TempDir()
	os.MkdirAll(filepath.Join(corrupt, "Go"), 0o755)
	os.WriteFile(filepath.Join(corrupt, "Go", "all.zip"), []byte("not a zip"), 0o644)
	for name, db := range map[string]string{"missing": filepath.Join(t.TempDir(), "nope"), "corrupt": corrupt} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			o := runScan(t, "--sbom", "testdata/mixed.cdx.json", "--db", db, "--format", "json", "--output", out)
			if o.code != exitcode.Error {
				t.Fatalf("exit %d, want 2", o.code)
			}
			to := o.testOutput(t)
			if to.Result != results.Error || !strings.Contains(to.Note, "vulnerability database") {
				t.Errorf("TEST_OUTPUT %+v, want ERROR naming the database", to)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a report was written for a scan that did not run")
			}
			o = runScan(t, "--sbom", "testdata/mixed.cdx.json", "--db", db, "--report-only")
			if o.code != exitcode.OK || o.testOutput(t).Result != results.Error {
				t.Errorf("--report-only: exit %d, %+v", o.code, o.testOutput(t))
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	db := sharedtest.OSV(t)
	for name, args := range map[string][]string{
		"no input":      {"--db", db},
		"two inputs":    {"--db", db, "--sbom", "x.json", "--image", "example.com/a:b"},
		"no db":         {"--sbom", "testdata/mixed.cdx.json"},
		"bad format":    {"--db", db, "--sbom", "testdata/mixed.cdx.json", "--format", "xml"},
		"bad fail-on":   {"--db", db, "--sbom", "testdata/mixed.cdx.json", "--fail-on", "urgent"},
		"bad type":      {"--type", "licenses"},
		"config no dir": {"--type", "config"},
		"bad sbom":      {"--db", db, "--sbom", "step_test.go"},
		"missing vex":   {"--db", db, "--sbom", "testdata/mixed.cdx.json", "--vex", "nope.json"},
	} {
		t.Run(name, func(t *testing.T) {
			o := runScan(t, args...)
			if o.code != exitcode.Error {
				t.Fatalf("exit %d, want 2\n%s", o.code, o.stderr)
			}
			if to := o.testOutput(t); to.Result != results.Error {
				t.Errorf("TEST_OUTPUT %+v", to)
			}
		})
	}
}

func TestConfigScan(t *testing.T) {
	out := filepath.Join(t.TempDir(), "config.sarif")
	o := runScan(t, "--type", "config", "--source", "../../internal/scan/misconfig/testdata/src", "--fail-on", "critical", "--format", "sarif", "--output", out)
	if o.code != exitcode.Failed {
		t.Fatalf("exit %d, want 1 (two critical secrets)\n%s", o.code, o.stderr)
	}
	to := o.testOutput(t)
	if to.Failures != 2 || to.Warnings != 13 || to.Successes != 0 {
		t.Errorf("TEST_OUTPUT %+v; want 2 failures, 13 warnings, 0 rules passing", to)
	}
	so := o.scanOutput(t)
	if so.Misconfigurations == nil || so.Misconfigurations.Critical != 2 || so.Vulnerabilities != nil {
		t.Errorf("SCAN_OUTPUT %+v", so)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"ruleId": "TL-CF-006"`)) || !bytes.Contains(b, []byte(`"startLine": 11`)) {
		t.Errorf("SARIF lacks TL-CF-006 at line 11")
	}
}

// --output /dev/null is written through, never replaced by a regular file
// (issue 12: a benchmark turned the machine's /dev/null into a file); "-"
// is stdout.
func TestOutputToDeviceAndStdout(t *testing.T) {
	before, err := os.Stat(os.DevNull)
	if err != nil || before.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is not a character device before the test: %v", os.DevNull, err)
	}
	o := runScan(t, "--type", "config", "--source", "../../internal/scan/misconfig/testdata/src", "--format", "sarif", "--output", os.DevNull)
	if o.code != exitcode.OK {
		t.Fatalf("exit %d\n%s", o.code, o.stderr)
	}
	after, err := os.Stat(os.DevNull)
	if err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
		t.Fatalf("%s was replaced: %v before, %v after (%v)", os.DevNull, before.Mode(), after.Mode(), err)
	}
	o = runScan(t, "--type", "config", "--source", "../../internal/scan/misconfig/testdata/src", "--format", "sarif", "--output", "-")
	if o.code != exitcode.OK || !strings.Contains(o.stdout, `"ruleId": "TL-CF-006"`) {
		t.Fatalf("--output -: exit %d, stdout %.200q", o.code, o.stdout)
	}
	if _, err := os.Lstat("-"); err == nil {
		t.Fatal(`--output - made a file named "-"`)
	}
}
