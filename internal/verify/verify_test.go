package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
	"github.com/trustline-dev/trustline/internal/verify/report"
	"github.com/trustline-dev/trustline/internal/verify/snapshot"
)

// now is the tests' effective time: after the fixture's tasks became
// trusted.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type env struct {
	reg    string
	signer *signing.Signer
	key    *signing.Verifier
	pdir   string
	ddir   string
}

func setup(t *testing.T) *env { return setupB(t) }

func setupB(t testing.TB) *env {
	t.Helper()
	signer, verifier := signingtest.NewKeyPair(t)
	pdir, ddir := fixture.Policy(t)
	return &env{reg: testregistry.Start(t), signer: signer, key: verifier, pdir: pdir, ddir: ddir}
}

// goodImage is a fully attested image that passes the default pack.
func (e *env) goodImage(repo string) fixture.Image {
	return fixture.Image{Repo: e.reg + "/" + repo, Signer: e.signer, Sign: true, Provenance: true, SBOM: true, Scan: true, Tests: true,
		BaseImage: "quay.io/trustline/base:1", GitURL: "https://github.com/trustline-dev/example-app", Commit: strings.Repeat("ab", 20)}
}

func (e *env) push(t testing.TB, im fixture.Image) name.Digest {
	t.Helper()
	d, err := fixture.Push(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) policy(ruleData map[string]any) *ecp.Policy {
	return &ecp.Policy{Name: "test", Sources: []ecp.Source{{Name: "pack", Policy: []string{e.pdir}, Data: []string{e.ddir}, RuleData: ruleData}}}
}

func trusted() map[string]any {
	return map[string]any{"trusted_tasks": fixture.TrustedTasks(now.AddDate(-1, 0, 0), time.Time{})}
}

func (e *env) verify(t *testing.T, pol *ecp.Policy, images []verify.Image, opts ...verify.Option) *report.Report {
	t.Helper()
	opts = append([]verify.Option{verify.WithClock(func() time.Time { return now }), verify.WithWorkers(3)}, opts...)
	v, err := verify.New(context.Background(), pol, e.key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	rep, err := v.Verify(context.Background(), images)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func codes(rs []report.Result) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		out[r.Metadata.Code] = true
	}
	return out
}

func TestGoodImagePassesAndGetsVSA(t *testing.T) {
	e := setup(t)
	d := e.push(t, e.goodImage("app"))
	vsaDir := t.TempDir()
	src := &snapshot.Source{Git: &snapshot.Git{URL: "https://github.com/trustline-dev/example-app.git", Revision: strings.Repeat("ab", 20)}}
	rep := e.verify(t, e.policy(trusted()), []verify.Image{{Name: "app", Ref: e.reg + "/app:latest", Source: src}},
		verify.WithVSA(e.signer, vsaDir, true))
	c := rep.Components[0]
	if !rep.Success || !c.Success || c.Error != "" {
		t.Fatalf("want pass, got success=%v error=%q violations=%+v", c.Success, c.Error, c.Violations)
	}
	if c.Ref != d.String() {
		t.Errorf("ref = %s, want %s", c.Ref, d)
	}
	if c.SuccessCount < 15 {
		t.Errorf("successes = %d, want every rule of the pack", c.SuccessCount)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %+v", c.Warnings)
	}
	if len(c.Attestations) != 4 {
		t.Errorf("attestations = %d, want 4", len(c.Attestations))
	}
	// The VSA was pushed beside the image and verifies with the key.
	atts, err := cosignoci.New().Attestations(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	var vsa map[string]any
	for _, a := range atts {
		if a.PredicateType != verify.VSAPredicateType {
			continue
		}
		st, err := a.Verify(context.Background(), e.key, d)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(st.Predicate, &vsa)
	}
	if vsa == nil {
		t.Fatal("no VSA pushed")
	}
	if vsa["verificationResult"] != "PASSED" || vsa["resourceUri"] != d.String() {
		t.Errorf("VSA = %v", vsa)
	}
	levels, _ := json.Marshal(vsa["verifiedLevels"])
	if string(levels) != `["SLSA_BUILD_LEVEL_1","SLSA_BUILD_LEVEL_2","SLSA_BUILD_LEVEL_3"]` {
		t.Errorf("verifiedLevels = %s", levels)
	}
	pol, _ := vsa["policy"].(map[string]any)
	if dg, _ := pol["digest"].(map[string]any); dg["sha256"] != strings.TrimPrefix(rep.Policy.Digest, "sha256:") {
		t.Errorf("VSA policy digest %v, report %s", pol, rep.Policy.Digest)
	}
	files, _ := filepath.Glob(filepath.Join(vsaDir, "*.vsa.json"))
	if len(files) != 1 {
		t.Errorf("VSA files: %v", files)
	}
}

// Each bad input gives its own violation; none passes.
func TestBadInputsNeverPass(t *testing.T) {
	e := setup(t)
	other, _, err := fixture.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	good := e.push(t, e.goodImage("good"))

	unsigned := e.goodImage("unsigned")
	unsigned.Sign = false
	e.push(t, unsigned)

	foreign := e.goodImage("foreign")
	foreign.AttestFor = &good
	e.push(t, foreign)

	otherKey := e.goodImage("otherkey")
	otherKey.Signer = other
	e.push(t, otherKey)

	vuln := e.goodImage("vuln")
	vuln.Vulns = [][2]string{{"CVE-2026-1234", "critical"}, {"CVE-2026-0001", "low"}}
	e.push(t, vuln)

	failing := e.goodImage("failing")
	failing.TestResult = "FAILED"
	e.push(t, failing)

	emptySBOM := e.goodImage("emptysbom")
	emptySBOM.Packages = -1
	e.push(t, emptySBOM)

	evilBase := e.goodImage("evilbase")
	evilBase.BaseImage = "evil.example/base:latest"
	e.push(t, evilBase)

	badProv := e.goodImage("badprov")
	badProv.Provenance, badProv.BadProvenance = false, true
	e.push(t, badProv)

	bare := e.goodImage("bare")
	bare.Provenance, bare.SBOM, bare.Scan, bare.Tests = false, false, false, false
	e.push(t, bare)

	images := []verify.Image{
		{Name: "unknown", Ref: e.reg + "/nothing-here:latest"},
		{Name: "unsigned", Ref: e.reg + "/unsigned:latest"},
		{Name: "foreign", Ref: e.reg + "/foreign:latest"},
		{Name: "otherkey", Ref: e.reg + "/otherkey:latest"},
		{Name: "vuln", Ref: e.reg + "/vuln:latest"},
		{Name: "failing", Ref: e.reg + "/failing:latest"},
		{Name: "emptysbom", Ref: e.reg + "/emptysbom:latest"},
		{Name: "evilbase", Ref: e.reg + "/evilbase:latest"},
		{Name: "bare", Ref: e.reg + "/bare:latest"},
		{Name: "badprov", Ref: e.reg + "/badprov:latest"},
		{Name: "wrongcommit", Ref: good.String(), Source: &snapshot.Source{Git: &snapshot.Git{URL: "https://github.com/trustline-dev/example-app", Revision: strings.Repeat("cd", 20)}}},
	}
	want := map[string][]string{
		"unknown":     {"builtin.image.accessible"},
		"unsigned":    {"builtin.image.signature_check", "signature.image_signed"},
		"foreign":     {"builtin.attestation.subject_check", "provenance.attestation_present", "sbom.attached", "cve.scan_attached"},
		"otherkey":    {"builtin.image.signature_check", "builtin.attestation.signature_check", "signature.image_signed", "provenance.attestation_present"},
		"vuln":        {"cve.below_threshold"},
		"failing":     {"test.no_failed_tests"},
		"emptysbom":   {"sbom.lists_packages"},
		"evilbase":    {"base_image.allowed_registry"},
		"bare":        {"builtin.attestation.signature_check", "provenance.attestation_present", "sbom.attached", "cve.scan_attached"},
		"wrongcommit": {"source.matches_snapshot"},
		"badprov":     {"builtin.attestation.syntax_check", "provenance.attestation_present"},
	}
	rep := e.verify(t, e.policy(trusted()), images)
	if rep.Success {
		t.Fatal("report says success")
	}
	for _, c := range rep.Components {
		if c.Success {
			t.Errorf("%s passed", c.Name)
		}
		if c.Error != "" {
			t.Errorf("%s: error %s", c.Name, c.Error)
		}
		got := codes(c.Violations)
		for _, code := range want[c.Name] {
			if !got[code] {
				t.Errorf("%s: no %s violation; got %v", c.Name, code, got)
			}
		}
		if c.Name == "vuln" {
			for _, v := range c.Violations {
				if v.Metadata.Code == "cve.below_threshold" && v.Metadata.Term != "CVE-2026-1234" {
					t.Errorf("vuln: violation for %v, want only CVE-2026-1234", v.Metadata.Term)
				}
			}
		}
		if c.Name != "unknown" && c.Name != "otherkey" && c.Name != "unsigned" && (got["builtin.image.signature_check"] || got["signature.image_signed"]) {
			t.Errorf("%s: unexpected signature violation: %v", c.Name, got)
		}
	}
}

func TestTrustedTaskRuleData(t *testing.T) {
	e := setup(t)
	e.push(t, e.goodImage("app"))
	img := []verify.Image{{Ref: e.reg + "/app:latest"}}

	expired := map[string]any{"trusted_tasks": fixture.TrustedTasks(now.AddDate(-1, 0, 0), now.AddDate(0, -1, 0))}
	c := e.verify(t, e.policy(expired), img).Components[0]
	if got := codes(c.Violations); !got["trusted_task.current"] || c.Success {
		t.Errorf("expired trusted tasks: violations %v", got)
	}
	for _, v := range c.Violations {
		if v.Metadata.Code == "trusted_task.current" && !strings.Contains(v.Msg, now.AddDate(0, -1, 0).Format("2006-01-02")) {
			t.Errorf("message does not name the expiry: %s", v.Msg)
		}
	}

	c = e.verify(t, e.policy(map[string]any{"trusted_tasks": "oci://x"}), img).Components[0]
	if got := codes(c.Violations); !got["trusted_task.data"] || c.Success {
		t.Errorf("malformed trusted_tasks: violations %v", got)
	}

	c = e.verify(t, e.policy(nil), img).Components[0]
	if got := codes(c.Violations); !got["trusted_task.data"] || c.Success {
		t.Errorf("no trusted_tasks: violations %v", got)
	}

	// Only some tasks trusted: the others are named.
	tt := fixture.TrustedTasks(now.AddDate(-1, 0, 0), time.Time{})
	delete(tt, fixture.TaskBundleRepo+"scan:0.1")
	c = e.verify(t, e.policy(map[string]any{"trusted_tasks": tt}), img).Components[0]
	found := false
	for _, v := range c.Violations {
		if v.Metadata.Code == "trusted_task.trusted" && strings.Contains(v.Msg, "scan") {
			found = true
		} else if v.Metadata.Code == "trusted_task.trusted" {
			t.Errorf("unexpected: %s", v.Msg)
		}
	}
	if !found {
		t.Errorf("untrusted scan task not reported: %+v", c.Violations)
	}
}

func TestIncludeExcludeAndEffectiveTime(t *testing.T) {
	e := setup(t)
	unsigned := e.goodImage("app")
	unsigned.Sign = false
	unsigned.Vulns = [][2]string{{"CVE-2026-1234", "critical"}}
	e.push(t, unsigned)
	img := []verify.Image{{Ref: e.reg + "/app:latest"}}

	pol := e.policy(trusted())
	pol.Sources[0].Config = &ecp.Config{Exclude: []string{"signature", "cve.below_threshold:CVE-2026-1234"}}
	c := e.verify(t, pol, img).Components[0]
	if got := codes(c.Violations); got["signature.image_signed"] || got["cve.below_threshold"] || !got["builtin.image.signature_check"] {
		t.Errorf("exclude: violations %v", got)
	}

	pol.Sources[0].Config = &ecp.Config{Include: []string{"@slsa3"}}
	c = e.verify(t, pol, img).Components[0]
	if got := codes(c.Violations); got["cve.below_threshold"] || !got["signature.image_signed"] {
		t.Errorf("include @slsa3: violations %v", got)
	}

	// A policy whose rule takes effect later: only a warning now.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "future.rego"), []byte(futureRule), 0o644)
	fut := &ecp.Policy{Sources: []ecp.Source{{Policy: []string{dir}}}}
	rep := e.verify(t, fut, img)
	c = rep.Components[0]
	if got := codes(c.Warnings); !got["future.later"] || codes(c.Violations)["future.later"] {
		t.Errorf("future rule: warnings %v violations %v", got, codes(c.Violations))
	}
	rep = e.verify(t, fut, img, verify.WithEffectiveTime("2099-06-01"))
	if got := codes(rep.Components[0].Violations); !got["future.later"] {
		t.Errorf("future rule at 2099-06-01: violations %v", got)
	}

	// "attestation" evaluates at the build's finish time from provenance
	// (the fixture's PipelineRun finished 2026-11-26T10:05:00Z): a rule in
	// effect from 11:00 that day only warns.
	os.WriteFile(filepath.Join(dir, "future.rego"), []byte(strings.ReplaceAll(futureRule, "2099-01-01T00:00:00Z", "2026-11-26T11:00:00Z")), 0o644)
	rep = e.verify(t, fut, img, verify.WithEffectiveTime(verify.EffectiveAttestation))
	if c := rep.Components[0]; !codes(c.Warnings)["future.later"] || codes(c.Violations)["future.later"] {
		t.Errorf("attestation time: warnings %v violations %v", codes(c.Warnings), codes(c.Violations))
	}
	rep = e.verify(t, fut, img)
	if c := rep.Components[0]; !codes(c.Violations)["future.later"] {
		t.Errorf("now (12:00): violations %v", codes(c.Violations))
	}
}

func TestMalformedPolicyIsAnError(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.rego"), []byte("package bad\n\ndeny contains x if {\n"), 0o644)
	for name, pol := range map[string]*ecp.Policy{
		"syntax":      {Sources: []ecp.Source{{Policy: []string{dir}}}},
		"missing dir": {Sources: []ecp.Source{{Policy: []string{filepath.Join(dir, "nope")}}}},
		"no rego":     {Sources: []ecp.Source{{Policy: []string{e.ddir}}}},
	} {
		_, err := verify.New(context.Background(), pol, e.key)
		if err == nil || !errors.Is(err, verify.ErrBadInput) {
			t.Errorf("%s: err = %v, want ErrBadInput", name, err)
		}
	}
	if _, err := verify.New(context.Background(), nil, e.key, verify.WithEffectiveTime("yesterday")); err == nil {
		t.Error("bad effective time accepted")
	}
}

func TestUnreachableRegistryIsAnError(t *testing.T) {
	e := setup(t)
	rep := e.verify(t, nil, []verify.Image{{Ref: "127.0.0.1:1/app:latest"}})
	if rep.Errors != 1 || rep.Components[0].Error == "" || rep.Outcome() != "error" {
		t.Errorf("unreachable registry: errors=%d component=%+v", rep.Errors, rep.Components[0])
	}
}

const futureRule = `package future

import rego.v1

# METADATA
# title: Future rule
# description: takes effect in 2099
# custom:
#   short_name: later
#   solution: wait
deny contains {"code": "future.later", "msg": "not yet", "effective_on": "2099-01-01T00:00:00Z"} if true
`

// WithExclude (verify-policy --exclude) adds to every source's exclusions:
// the build pipeline's own gate leaves out @pipeline_provenance, the rules
// that need the finished PipelineRun's provenance.
func TestExcludeOption(t *testing.T) {
	e := setup(t)
	e.push(t, e.goodImage("app"))
	img := []verify.Image{{Ref: e.reg + "/app:latest", Source: &snapshot.Source{Git: &snapshot.Git{URL: "https://example.invalid/other", Revision: strings.Repeat("e", 40)}}}}
	c := e.verify(t, e.policy(trusted()), img).Components[0]
	if got := codes(c.Violations); !got["source.matches_snapshot"] || len(got) != 1 {
		t.Fatalf("another source: violations %v, want source.matches_snapshot", got)
	}
	c = e.verify(t, e.policy(trusted()), img, verify.WithExclude("@pipeline_provenance")).Components[0]
	if got := codes(c.Violations); len(got) != 0 || !c.Success {
		t.Errorf("--exclude @pipeline_provenance: violations %v", got)
	}
	// A source's own config is kept: its exclusions and includes still apply.
	pol := e.policy(trusted())
	pol.Sources[0].Config = &ecp.Config{Include: []string{"source", "signature"}}
	c = e.verify(t, pol, img, verify.WithExclude("signature")).Components[0]
	if got := codes(c.Violations); !got["source.matches_snapshot"] || len(got) != 1 {
		t.Errorf("include source+signature, exclude signature: violations %v", got)
	}
}
