package scan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
)

func report() *finding.Report {
	pkg := func(n string) finding.Package { return finding.Package{Name: n, Version: "1", Ecosystem: "npm"} }
	return &finding.Report{
		Timestamp: "2026-11-26T10:00:00Z",
		Packages:  []finding.Package{pkg("a"), pkg("b"), pkg("c"), pkg("d")},
		Vulnerabilities: []finding.Vulnerability{
			{ID: "A-1", Package: pkg("a"), Severity: cvss.Critical, FixedVersion: "2"},
			{ID: "A-2", Package: pkg("a"), Severity: cvss.Medium},
			{ID: "B-1", Package: pkg("b"), Severity: cvss.Unknown, FixedVersion: "3"},
		},
		Suppressed: []finding.Vulnerability{{ID: "C-1", Package: pkg("c"), Severity: cvss.High}},
	}
}

func TestJudge(t *testing.T) {
	cases := []struct {
		failOn                   cvss.Rating
		result                   string
		failures, warnings, succ int
	}{
		{"", results.Warning, 0, 3, 2},
		{cvss.Critical, results.Failure, 1, 2, 2},
		{cvss.Medium, results.Failure, 2, 1, 2},
		{cvss.Low, results.Failure, 2, 1, 2}, // unknown severity never reaches a threshold
	}
	for _, c := range cases {
		got := Judge(report(), c.failOn)
		if got.Result != c.result || got.Failures != c.failures || got.Warnings != c.warnings || got.Successes != c.succ {
			t.Errorf("fail-on %q: %+v", c.failOn, got)
		}
		if got.Namespace != "default" || got.Timestamp != "2026-11-26T10:00:00Z" || !strings.Contains(got.Note, "1 suppressed by VEX") {
			t.Errorf("fail-on %q: %+v", c.failOn, got)
		}
	}
	clean := &finding.Report{Packages: []finding.Package{{Name: "x"}}}
	if got := Judge(clean, cvss.Low); got.Result != results.Success || got.Successes != 1 {
		t.Errorf("clean: %+v", got)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(report())
	if s.Vulnerabilities.Critical != 1 || s.Vulnerabilities.Unknown != 1 || s.Unpatched.Medium != 1 || s.Suppressed != 1 || s.Misconfigurations != nil {
		t.Errorf("%+v %+v %+v", s, *s.Vulnerabilities, *s.Unpatched)
	}
}

func TestErrorOutput(t *testing.T) {
	got := ErrorOutput(&DatabaseError{Err: errors.New("no OSV database in /db")}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if got.Result != results.Error || got.Timestamp != "2026-01-02T03:04:05Z" || !strings.Contains(got.Note, "no OSV database in /db") {
		t.Errorf("%+v", got)
	}
}
