package report

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// readsLikeConforma groups the vulnerabilities of a Clair report the way
// Conforma's cve rules document it: every value of "vulnerabilities", its
// level lower(normalized_severity) (default "unknown"), patched when
// fixed_in_version is a non-empty string, named by "name". Written here
// from that description.
const readsLikeConforma = `package t

import rego.v1

groups[kind][level] contains vuln.name if {
	some vuln in input.vulnerabilities
	level := lower(object.get(vuln, "normalized_severity", "unknown"))
	kind := patched(vuln)
}

patched(vuln) := "patched" if {
	object.get(vuln, "fixed_in_version", "") != ""
} else := "unpatched"
`

func TestClairReadsAsConformaDocumentsIt(t *testing.T) {
	pkg := finding.Package{Name: "openssl-libs", Version: "3.0.1", Ecosystem: "AlmaLinux:9", Source: "openssl"}
	other := finding.Package{Name: "golang.org/x/net", Version: "0.1.0", Ecosystem: "Go"}
	rep := &finding.Report{
		Subject: "127.0.0.1:5000/app@sha256:" + string(bytes.Repeat([]byte("a"), 64)),
		Vulnerabilities: []finding.Vulnerability{
			{ID: "CVE-2026-1", Package: pkg, Severity: cvss.Critical, FixedVersion: "3.0.2"},
			{ID: "CVE-2026-2", Package: pkg, Severity: cvss.High},
			{ID: "GO-2026-3", Package: other, Severity: cvss.Medium, FixedVersion: "0.2.0"},
			{ID: "GO-2026-4", Package: other, Severity: cvss.None, FixedVersion: "0.2.0"},
			{ID: "GO-2026-5", Package: other, Severity: cvss.Unknown},
		},
		Suppressed: []finding.Vulnerability{{ID: "CVE-2026-9", Package: pkg, Severity: cvss.Critical}},
	}
	var buf bytes.Buffer
	if err := Clair(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["manifest_hash"] != "sha256:"+string(bytes.Repeat([]byte("a"), 64)) {
		t.Errorf("manifest_hash %v", doc["manifest_hash"])
	}
	rs, err := rego.New(rego.Query("data.t.groups"), rego.Module("t.rego", readsLikeConforma), rego.Input(doc)).Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(rs[0].Expressions[0].Value)
	want := `{"patched":{"critical":["CVE-2026-1"],"low":["GO-2026-4"],"medium":["GO-2026-3"]},"unpatched":{"high":["CVE-2026-2"],"unknown":["GO-2026-5"]}}`
	if string(got) != want {
		t.Errorf("Conforma's reading of the report:\n got %s\nwant %s", got, want)
	}
	pv := doc["package_vulnerabilities"].(map[string]any)
	if len(pv) != 2 || len(doc["packages"].(map[string]any)) != 2 {
		t.Errorf("packages %v, package_vulnerabilities %v", doc["packages"], pv)
	}
}
