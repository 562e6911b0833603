package ecp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const resource = `apiVersion: appstudio.redhat.com/v1alpha1
kind: EnterpriseContractPolicy
metadata: {name: default}
spec:
  description: release policy
  publicKey: k8s://tekton-pipelines/public-key
  sources:
  - name: release
    policy: [oci::quay.io/enterprise-contract/ec-release-policy:latest, ./policy]
    data: [oci::quay.io/konflux-ci/tekton-catalog/data-acceptable-bundles:latest]
    ruleData:
      allowed_registry_prefixes: [quay.io/]
    config:
      include: ["@slsa3", "tasks.required_tasks_ran"]
      exclude: ["cve.below_threshold:CVE-2024-1"]
    volatileConfig:
      exclude:
      - value: test
        effectiveUntil: "2026-12-01"
        imageDigest: sha256:abc
`

func TestParseResource(t *testing.T) {
	p, err := Parse([]byte(resource))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Sources[0]
	if s.Name != "release" || len(s.Policy) != 2 || s.RuleData["allowed_registry_prefixes"] == nil {
		t.Fatalf("parsed %+v", s)
	}
	loc, err := ParseLocation(s.Policy[0])
	if loc.Kind != KindOCI || loc.Ref != "quay.io/enterprise-contract/ec-release-policy:latest" || err != nil {
		t.Errorf("location: %+v %v", loc, err)
	}
	before := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inc, exc := p.EffectiveConfig(0, "x", "sha256:abc", before)
	if strings.Join(inc, ",") != "@slsa3,tasks.required_tasks_ran" || strings.Join(exc, ",") != "cve.below_threshold:CVE-2024-1,test" {
		t.Errorf("effective config before expiry: %v %v", inc, exc)
	}
	_, exc = p.EffectiveConfig(0, "x", "sha256:abc", before.AddDate(0, 2, 0))
	if len(exc) != 1 {
		t.Errorf("volatile exclude still applies after effectiveUntil: %v", exc)
	}
	_, exc = p.EffectiveConfig(0, "x", "sha256:other", before)
	if len(exc) != 1 {
		t.Errorf("volatile exclude applies to another digest: %v", exc)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for doc, want := range map[string]string{
		`{"sources": []}`:                                                  "sources: at least one source",
		`{"sources": [{"policy": []}]}`:                                    "sources[0].policy",
		`{"sources": [{"name": "a", "policy": ["git::x"]}]}`:               "sources[0] (a).policy[0]",
		`{"sources": [{"policy": ["p"], "exlude": []}]}`:                   `unknown field "exlude"`,
		`{"sources": [{"policy": ["p"], "ruleData": [1]}]}`:                "ruleData",
		`{"sources": [{"policy": ["p"], "config": {"include": ["a b"]}}]}`: "config.include[0]",
		`kind: Pod
spec: {sources: [{policy: [p]}]}`: "kind",
		`[1]`:                                 "must be an object",
		`{"sources": [{"policy": ["p"]}]} {}`: "trailing",
		`{"sources": [{"policy": ["p"], "volatileConfig": {"exclude": [{"value": "x", "effectiveOn": "soon"}]}}]}`: "effectiveOn",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", doc, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(resource))
	f.Add([]byte(`{"sources":[{"policy":["oci::x"],"config":{"include":["*"]}}]}`))
	f.Add([]byte(`sources: [{policy: [a], ruleData: {x: [1, {y: null}]}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if len(p.Sources) == 0 {
			t.Fatal("accepted a policy without sources")
		}
		for i, s := range p.Sources {
			if len(s.Policy) == 0 {
				t.Fatal("accepted a source without policy")
			}
			for _, l := range append(append([]string{}, s.Policy...), s.Data...) {
				if _, err := ParseLocation(l); err != nil {
					t.Fatalf("accepted a bad location %q", l)
				}
			}
			p.EffectiveConfig(i, "r", "sha256:x", time.Now())
		}
	})
}
