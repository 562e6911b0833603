package vex

import (
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

var findings = []finding.Vulnerability{
	{ID: "GO-2021-0113", Aliases: []string{"CVE-2021-38561"}, Package: finding.Package{Name: "golang.org/x/text", PURL: "pkg:golang/golang.org/x/text@v0.3.0", BOMRef: "ref-text"}},
	{ID: "GO-2020-0015", Aliases: []string{"CVE-2020-14040"}, Package: finding.Package{Name: "golang.org/x/text", PURL: "pkg:golang/golang.org/x/text@v0.3.0", BOMRef: "ref-text"}},
	{ID: "RUSTSEC-2019-0009", Package: finding.Package{Name: "smallvec", PURL: "pkg:cargo/smallvec@0.6.9"}},
}

const openvex = `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex-1",
  "author": "security@example.com",
  "timestamp": "2026-01-01T00:00:00Z",
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2021-38561"},
     "products": [{"@id": "pkg:oci/app@sha256:aaaa", "subcomponents": [{"@id": "pkg:golang/golang.org/x/text@v0.3.0"}]}],
     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
     "impact_statement": "language.Parse is never called"},
    {"vulnerability": {"name": "GO-2020-0015"}, "products": [{"@id": "pkg:golang/golang.org/x/text@v0.9.9"}],
     "status": "not_affected", "justification": "component_not_present"},
    {"vulnerability": {"name": "RUSTSEC-2019-0009"}, "products": [{"@id": "pkg:oci/app"}], "status": "under_investigation"}
  ]
}`

func TestOpenVEX(t *testing.T) {
	st, err := Parse("vex.json", []byte(openvex))
	if err != nil {
		t.Fatal(err)
	}
	kept, sup := Apply(st, findings)
	if len(sup) != 1 || sup[0].ID != "GO-2021-0113" {
		t.Fatalf("suppressed %v, want only GO-2021-0113 (by its alias)", sup)
	}
	s := sup[0].Suppression
	if s.Justification != "vulnerable_code_not_in_execute_path" || s.Statement != "language.Parse is never called" || s.Document != "vex.json" {
		t.Errorf("suppression %+v lost its justification", s)
	}
	if len(kept) != 2 {
		t.Errorf("kept %d, want 2 (other version, under_investigation)", len(kept))
	}
}

const cdxvex = `{
  "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
  "components": [{"bom-ref": "sv", "type": "library", "name": "smallvec", "purl": "pkg:cargo/smallvec@0.6.9"}],
  "vulnerabilities": [
    {"id": "RUSTSEC-2019-0009", "analysis": {"state": "resolved", "detail": "patched downstream"}, "affects": [{"ref": "sv"}]},
    {"id": "CVE-2020-14040", "analysis": {"state": "exploitable"}, "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#ref-text"}]},
    {"id": "GO-2021-0113", "analysis": {"state": "false_positive", "justification": "code_not_reachable"}, "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#ref-text"}]}
  ]
}`

func TestCycloneDXVEX(t *testing.T) {
	st, err := Parse("vex.cdx.json", []byte(cdxvex))
	if err != nil {
		t.Fatal(err)
	}
	kept, sup := Apply(st, findings)
	got := map[string]string{}
	for _, v := range sup {
		got[v.ID] = v.Suppression.Status + "/" + v.Suppression.Justification
	}
	if got["RUSTSEC-2019-0009"] != "fixed/" || got["GO-2021-0113"] != "not_affected/code_not_reachable" || len(sup) != 2 {
		t.Fatalf("suppressed %v", got)
	}
	if len(kept) != 1 || kept[0].ID != "GO-2020-0015" {
		t.Fatalf("kept %v", kept)
	}
}

func TestParseErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":            `{`,
		"unknown":             `{"hello":1}`,
		"bad status":          `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"X"},"status":"maybe"}]}`,
		"no justification":    `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"X"},"status":"not_affected"}]}`,
		"no vulnerability":    `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"status":"fixed"}]}`,
		"bad cyclonedx state": `{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"X","analysis":{"state":"nope"}}]}`,
	} {
		if _, err := Parse("doc.json", []byte(doc)); err == nil || !strings.Contains(err.Error(), "doc.json") {
			t.Errorf("%s: error %v should name the document", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(openvex))
	f.Add([]byte(cdxvex))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.0.1","statements":[{"vulnerability":"CVE-1","products":["pkg:npm/a@1"],"status":"fixed"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Parse("fuzz.json", data)
		if err != nil {
			return
		}
		kept, sup := Apply(st, findings)
		if len(kept)+len(sup) != len(findings) {
			t.Fatalf("Apply lost findings: %d + %d != %d", len(kept), len(sup), len(findings))
		}
	})
}
