// Package adversarial is the tamper matrix: each case is an attack on an
// image, its signatures and attestations, the registry traffic, a cache,
// a policy or a repository, and the step that meets it must reject it
// with its specific reason (a verify-policy violation code, or an exit-2
// error naming what is wrong). It runs against a real registry on
// 127.0.0.1 (go-containerregistry's pkg/registry) and, for traffic
// tampering, the fault-injecting proxy in internal/testregistry/faulty.
// `go test -v ./test/adversarial` prints the table (case, expected, got).
package adversarial

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/gitclone"
	"github.com/trustline-dev/trustline/internal/sbom"
	"github.com/trustline-dev/trustline/internal/sbom/layerfs"
	"github.com/trustline-dev/trustline/internal/sbom/sbomtest"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
	"github.com/trustline-dev/trustline/internal/verify/report"
	"github.com/trustline-dev/trustline/internal/verify/snapshot"
)

// now is the effective time: a year after the fixture's tasks became
// trusted.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// row is one line of the matrix.
type row struct {
	name, expected, got string
	ok                  bool
}

type env struct {
	t      *testing.T
	ctx    context.Context
	reg    string
	signer *signing.Signer
	key    *signing.Verifier
	pdir   string
	ddir   string
}

func newEnv(t *testing.T) *env {
	signer, verifier := signingtest.NewKeyPair(t)
	pdir, ddir := fixture.Policy(t)
	return &env{t: t, ctx: context.Background(), reg: testregistry.Start(t), signer: signer, key: verifier, pdir: pdir, ddir: ddir}
}

func (e *env) good(repo string) fixture.Image {
	return fixture.Image{Repo: e.reg + "/" + repo, Signer: e.signer, Sign: true, Provenance: true, SBOM: true, Scan: true, Tests: true,
		BaseImage: "quay.io/trustline/base:1", GitURL: "https://github.com/trustline-dev/example-app", Commit: strings.Repeat("ab", 20)}
}

func (e *env) push(im fixture.Image) name.Digest {
	e.t.Helper()
	d, err := fixture.Push(e.ctx, im)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func trustedRuleData(tt map[string]any) map[string]any {
	return map[string]any{"trusted_tasks": tt}
}

func (e *env) policy(ruleData map[string]any) *ecp.Policy {
	return &ecp.Policy{Name: "adversarial", Sources: []ecp.Source{{Name: "pack", Policy: []string{e.pdir}, Data: []string{e.ddir}, RuleData: ruleData}}}
}

// verifyCase describes one verify-policy case: the image, and what differs
// from the default check (key, rule data, effective time).
type verifyCase struct {
	name   string
	image  verify.Image
	want   string // a violation code, or "error: <substring>"
	key    *signing.Verifier
	rules  map[string]any
	opts   []verify.Option
	policy *ecp.Policy
}

func (e *env) run(c verifyCase) row {
	key := e.key
	if c.key != nil {
		key = c.key
	}
	rules := c.rules
	if rules == nil {
		rules = trustedRuleData(fixture.TrustedTasks(now.AddDate(-1, 0, 0), time.Time{}))
	}
	pol := c.policy
	if pol == nil {
		pol = e.policy(rules)
	}
	opts := append([]verify.Option{verify.WithClock(func() time.Time { return now })}, c.opts...)
	r := row{name: c.name, expected: c.want}
	v, err := verify.New(e.ctx, pol, key, opts...)
	if err != nil {
		r.got = "error: " + err.Error()
		r.ok = strings.HasPrefix(c.want, "error: ") && strings.Contains(err.Error(), strings.TrimPrefix(c.want, "error: "))
		return r
	}
	defer v.Close()
	rep, err := v.Verify(e.ctx, []verify.Image{c.image})
	if err != nil {
		r.got = "error: " + err.Error()
		return r
	}
	comp := rep.Components[0]
	if comp.Error != "" {
		r.got = "error: " + comp.Error
		r.ok = strings.HasPrefix(c.want, "error: ") && strings.Contains(comp.Error, strings.TrimPrefix(c.want, "error: ")) && !rep.Success
		return r
	}
	got := codes(comp.Violations)
	r.got = strings.Join(got, " ")
	if comp.Success {
		r.got = "PASS " + r.got
	}
	r.ok = !comp.Success && !rep.Success && slices.Contains(got, c.want)
	return r
}

func codes(rs []report.Result) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		if !seen[r.Metadata.Code] {
			seen[r.Metadata.Code] = true
			out = append(out, r.Metadata.Code)
		}
	}
	sort.Strings(out)
	return out
}

func ref(d name.Digest) verify.Image {
	return verify.Image{Name: d.Context().RepositoryStr(), Ref: d.String()}
}

func tagRef(repo string) verify.Image {
	return verify.Image{Name: repo, Ref: repo + ":latest"}
}

// rewriteAttestations reads the .att image of d, passes every DSSE
// envelope through edit (nil drops the layer) and pushes the result under
// the same tag: what an attacker with push access but no key can do.
func (e *env) rewriteAttestations(d name.Digest, edit func(env map[string]any, predicateType string) map[string]any) {
	e.t.Helper()
	tag := cosignoci.AttestationTag(d)
	img, err := remote.Image(tag, remote.WithContext(e.ctx))
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		e.t.Fatal(err)
	}
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			e.t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			e.t.Fatal(err)
		}
		raw, _ := io.ReadAll(rc)
		rc.Close()
		var envl map[string]any
		if err := json.Unmarshal(raw, &envl); err != nil {
			e.t.Fatal(err)
		}
		pt := desc.Annotations["predicateType"]
		envl = edit(envl, pt)
		if envl == nil {
			continue
		}
		b, _ := json.Marshal(envl)
		if out, err = mutate.Append(out, mutate.Addendum{Layer: static.NewLayer(b, types.MediaType(cosignoci.DSSEMediaType)), Annotations: desc.Annotations}); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := remote.Write(tag, out, remote.WithContext(e.ctx)); err != nil {
		e.t.Fatal(err)
	}
}

// editPayload decodes a DSSE envelope's statement, edits it and encodes it
// again, keeping the signatures as they were.
func editPayload(envl map[string]any, edit func(st map[string]any)) map[string]any {
	p, _ := base64.StdEncoding.DecodeString(envl["payload"].(string))
	var st map[string]any
	json.Unmarshal(p, &st)
	edit(st)
	b, _ := json.Marshal(st)
	envl["payload"] = base64.StdEncoding.EncodeToString(b)
	return envl
}

// copyTag makes dst's tag point at the image src's tag points at.
func (e *env) copyTag(src, dst name.Tag) {
	e.t.Helper()
	img, err := remote.Image(src, remote.WithContext(e.ctx))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := remote.Write(dst, img, remote.WithContext(e.ctx)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deleteTag(tag name.Tag) {
	e.t.Helper()
	if err := remote.Delete(tag, remote.WithContext(e.ctx)); err != nil {
		e.t.Fatal(err)
	}
}

func TestTamperMatrix(t *testing.T) {
	e := newEnv(t)
	var rows []row
	add := func(r row) {
		rows = append(rows, r)
		if !r.ok {
			t.Errorf("%s: expected %s, got %s", r.name, r.expected, r.got)
		}
	}

	// The reference image every other case is compared with passes.
	good := e.push(e.good("good"))
	add(func() row {
		r := e.run(verifyCase{name: "untouched image (control)", image: ref(good), want: ""})
		r.expected, r.ok = "PASS", strings.HasPrefix(r.got, "PASS")
		return r
	}())

	var cases []verifyCase
	image := func(repo string, change func(*fixture.Image)) name.Digest {
		im := e.good(repo)
		change(&im)
		return e.push(im)
	}

	// Signatures.
	cases = append(cases, verifyCase{name: "image not in the registry", image: tagRef(e.reg + "/nothing-here"), want: "builtin.image.accessible"})
	cases = append(cases, verifyCase{name: "image never signed", image: ref(image("unsigned", func(i *fixture.Image) { i.Sign = false })), want: "builtin.image.signature_check"})
	sigRemoved := image("sigremoved", func(*fixture.Image) {})
	e.deleteTag(cosignoci.SignatureTag(sigRemoved))
	cases = append(cases, verifyCase{name: "signature removed", image: ref(sigRemoved), want: "builtin.image.signature_check"})
	sigOfOther := image("sigofother", func(*fixture.Image) {})
	e.copyTag(cosignoci.SignatureTag(good), cosignoci.SignatureTag(sigOfOther))
	cases = append(cases, verifyCase{name: "signature replaced by another image's", image: ref(sigOfOther), want: "builtin.image.signature_check"})
	old := signingtest.NewSigner(t)
	cases = append(cases, verifyCase{name: "signed with another key", image: ref(image("otherkey", func(i *fixture.Image) { i.Signer = old })), want: "builtin.image.signature_check"})
	_, newKey := signingtest.NewKeyPair(t)
	cases = append(cases, verifyCase{name: "key rotated, old key no longer accepted", image: ref(good), key: newKey, want: "builtin.image.signature_check"})
	cases = append(cases, verifyCase{name: "key rotated: attestations under the old key", image: ref(good), key: newKey, want: "builtin.attestation.signature_check"})

	// The image itself changed after signing.
	repushed := image("repushed", func(*fixture.Image) {})
	if err := remote.Write(mustTag(e.reg+"/repushed:latest"), mustRandom(t), remote.WithContext(e.ctx)); err != nil {
		t.Fatal(err)
	}
	_ = repushed
	cases = append(cases, verifyCase{name: "manifest re-pushed under the same tag", image: tagRef(e.reg + "/repushed"), want: "builtin.image.signature_check"})
	swapped := image("swapped", func(*fixture.Image) {})
	swappedImg, err := remote.Image(swapped, remote.WithContext(e.ctx))
	if err != nil {
		t.Fatal(err)
	}
	extra, _ := random.Layer(128, types.OCILayer)
	swappedImg, _ = mutate.AppendLayers(swappedImg, extra)
	if err := remote.Write(mustTag(e.reg+"/swapped:latest"), swappedImg, remote.WithContext(e.ctx)); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, verifyCase{name: "layer swapped after signing (same tag)", image: tagRef(e.reg + "/swapped"), want: "builtin.image.signature_check"})
	cases = append(cases, verifyCase{name: "layer swapped: no attestation names the new digest", image: tagRef(e.reg + "/swapped"), want: "provenance.attestation_present"})

	// Attestations.
	attRemoved := image("attremoved", func(*fixture.Image) {})
	e.deleteTag(cosignoci.AttestationTag(attRemoved))
	cases = append(cases, verifyCase{name: "attestations removed", image: ref(attRemoved), want: "provenance.attestation_present"})
	cases = append(cases, verifyCase{name: "attestations removed: no SBOM", image: ref(attRemoved), want: "sbom.attached"})
	replayed := image("replayed", func(i *fixture.Image) { i.AttestFor = &good })
	cases = append(cases, verifyCase{name: "attestations replayed from another image", image: ref(replayed), want: "builtin.attestation.subject_check"})
	attOfOther := image("attofother", func(*fixture.Image) {})
	e.copyTag(cosignoci.AttestationTag(good), cosignoci.AttestationTag(attOfOther))
	cases = append(cases, verifyCase{name: ".att tag pointed at another image's attestations", image: ref(attOfOther), want: "builtin.attestation.subject_check"})

	subjectEdited := image("subjectedited", func(*fixture.Image) {})
	e.rewriteAttestations(subjectEdited, func(envl map[string]any, _ string) map[string]any {
		return editPayload(envl, func(st map[string]any) {
			st["subject"] = []any{map[string]any{"name": "x", "digest": map[string]any{"sha256": strings.Repeat("0", 64)}}}
		})
	})
	cases = append(cases, verifyCase{name: "statement subject edited, signature kept", image: ref(subjectEdited), want: "builtin.attestation.signature_check"})
	payloadEdited := image("payloadedited", func(*fixture.Image) {})
	e.rewriteAttestations(payloadEdited, func(envl map[string]any, pt string) map[string]any {
		return editPayload(envl, func(st map[string]any) {
			st["predicate"] = map[string]any{"forged": true}
		})
	})
	cases = append(cases, verifyCase{name: "DSSE payload edited, signature kept", image: ref(payloadEdited), want: "builtin.attestation.signature_check"})
	typeEdited := image("typeedited", func(*fixture.Image) {})
	e.rewriteAttestations(typeEdited, func(envl map[string]any, _ string) map[string]any {
		envl["payloadType"] = "application/json"
		return envl
	})
	cases = append(cases, verifyCase{name: "DSSE payloadType edited, signature kept", image: ref(typeEdited), want: "builtin.attestation.signature_check"})
	sigStripped := image("sigstripped", func(*fixture.Image) {})
	e.rewriteAttestations(sigStripped, func(envl map[string]any, _ string) map[string]any {
		envl["signatures"] = []any{}
		return envl
	})
	cases = append(cases, verifyCase{name: "DSSE signatures stripped (envelope malformed)", image: ref(sigStripped), want: "builtin.attestation.syntax_check"})
	sigFlipped := image("sigflipped", func(*fixture.Image) {})
	e.rewriteAttestations(sigFlipped, func(envl map[string]any, _ string) map[string]any {
		for _, s := range envl["signatures"].([]any) {
			sm := s.(map[string]any)
			b, _ := base64.StdEncoding.DecodeString(sm["sig"].(string))
			b[len(b)/2] ^= 0xff
			sm["sig"] = base64.StdEncoding.EncodeToString(b)
		}
		return envl
	})
	cases = append(cases, verifyCase{name: "DSSE signature bytes altered", image: ref(sigFlipped), want: "builtin.attestation.signature_check"})

	// SBOM swapped for another image's: the victim's own SBOM layer is
	// replaced by the good image's (signed, but about good).
	sbomSwapped := image("sbomswapped", func(*fixture.Image) {})
	goodAtts := map[string]map[string]any{}
	e.rewriteAttestations(good, func(envl map[string]any, pt string) map[string]any { goodAtts[pt] = envl; return envl })
	e.rewriteAttestations(sbomSwapped, func(envl map[string]any, pt string) map[string]any {
		if strings.Contains(pt, "cyclonedx") || strings.Contains(pt, "spdx") {
			return goodAtts[pt]
		}
		return envl
	})
	cases = append(cases, verifyCase{name: "SBOM swapped for another image's", image: ref(sbomSwapped), want: "builtin.attestation.subject_check"})
	cases = append(cases, verifyCase{name: "SBOM swapped: the image has no SBOM of its own", image: ref(sbomSwapped), want: "sbom.attached"})
	provSwapped := image("provswapped", func(*fixture.Image) {})
	e.rewriteAttestations(provSwapped, func(envl map[string]any, pt string) map[string]any {
		if strings.Contains(pt, "slsa.dev/provenance") {
			return goodAtts[pt]
		}
		return envl
	})
	cases = append(cases, verifyCase{name: "provenance swapped for another image's", image: ref(provSwapped), want: "provenance.attestation_present"})
	cases = append(cases, verifyCase{name: "no SBOM attested", image: ref(image("nosbom", func(i *fixture.Image) { i.SBOM = false })), want: "sbom.attached"})
	cases = append(cases, verifyCase{name: "no scan attested", image: ref(image("noscan", func(i *fixture.Image) { i.Scan = false })), want: "cve.scan_attached"})
	cases = append(cases, verifyCase{name: "no provenance attested", image: ref(image("noprov", func(i *fixture.Image) { i.Provenance = false })), want: "provenance.attestation_present"})
	cases = append(cases, verifyCase{name: "provenance that is not SLSA", image: ref(image("badprov", func(i *fixture.Image) { i.Provenance, i.BadProvenance = false, true })), want: "builtin.attestation.syntax_check"})
	cases = append(cases, verifyCase{name: "SBOM listing no packages", image: ref(image("emptysbom", func(i *fixture.Image) { i.Packages = -1 })), want: "sbom.lists_packages"})
	cases = append(cases, verifyCase{name: "critical vulnerability without VEX", image: ref(image("vuln", func(i *fixture.Image) { i.Vulns = [][2]string{{"CVE-2026-1234", "critical"}} })), want: "cve.below_threshold"})
	cases = append(cases, verifyCase{name: "failed tests attested", image: ref(image("failing", func(i *fixture.Image) { i.TestResult = "FAILED" })), want: "test.no_failed_tests"})
	cases = append(cases, verifyCase{name: "base image from an untrusted registry", image: ref(image("evilbase", func(i *fixture.Image) { i.BaseImage = "evil.example/base:latest" })), want: "base_image.allowed_registry"})
	cases = append(cases, verifyCase{name: "source commit differs from the snapshot", image: verify.Image{Name: "wrongcommit", Ref: good.String(),
		Source: &snapshot.Source{Git: &snapshot.Git{URL: "https://github.com/trustline-dev/example-app", Revision: strings.Repeat("cd", 20)}}}, want: "source.matches_snapshot"})

	// Trusted tasks.
	tt := func(effective, expires time.Time) map[string]any { return fixture.TrustedTasks(effective, expires) }
	otherDigest := func(m map[string]any, task string) map[string]any {
		for k, v := range m {
			if strings.HasSuffix(k, "task-"+task+":0.1") {
				rec := v.([]any)[0].(map[string]any)
				rec["ref"] = "sha256:" + strings.Repeat("e", 64)
			}
		}
		return m
	}
	cases = append(cases, verifyCase{name: "provenance names a trusted task whose digest is not trusted", image: ref(good),
		rules: trustedRuleData(otherDigest(tt(now.AddDate(-1, 0, 0), time.Time{}), "build")), want: "trusted_task.trusted"})
	rebundled := tt(now.AddDate(-1, 0, 0), time.Time{})
	for _, task := range fixture.Tasks {
		otherDigest(rebundled, task)
	}
	cases = append(cases, verifyCase{name: "task bundle re-pushed under its tag (new digest)", image: ref(good), rules: trustedRuleData(rebundled), want: "trusted_task.trusted"})
	cases = append(cases, verifyCase{name: "trusted task expired", image: ref(good), rules: trustedRuleData(tt(now.AddDate(-1, 0, 0), now.AddDate(0, 0, -1))), want: "trusted_task.current"})
	cases = append(cases, verifyCase{name: "clock past expires_on", image: ref(good), rules: trustedRuleData(tt(now.AddDate(-1, 0, 0), now.AddDate(0, 1, 0))),
		opts: []verify.Option{verify.WithEffectiveTime(now.AddDate(0, 2, 0).Format(time.RFC3339))}, want: "trusted_task.current"})
	cases = append(cases, verifyCase{name: "no trusted task data", image: ref(good), rules: map[string]any{}, want: "trusted_task.data"})

	// Defect 3: a runaway policy ends in an error, not a hang.
	runaway := fixture.RunawayPolicy(t)
	cases = append(cases, verifyCase{name: "defect 3: runaway policy (nested numbers.range)", image: ref(good),
		policy: &ecp.Policy{Sources: []ecp.Source{{Name: "runaway", Policy: []string{runaway}}}},
		opts:   []verify.Option{verify.WithTimeout(2 * time.Second)}, want: "error: took longer than the 2s timeout"})

	// Limits: each ends in an error naming it.
	cases = append(cases, verifyCase{name: "limit: policy input over --max-input", image: ref(good),
		opts: []verify.Option{verify.WithMaxInput(1 << 10)}, want: "error: policy input limit"})

	for _, c := range cases {
		add(e.run(c))
	}

	// Registry traffic and caches, through the sbom step.
	for _, r := range sbomCases(t, e) {
		add(r)
	}
	// Limits of docs/security.md not reached above.
	for _, r := range limitCases(t, e) {
		add(r)
	}
	// Containerfiles, through the build step.
	for _, r := range buildCases(t, e) {
		add(r)
	}
	// Repositories, through git-clone.
	for _, r := range gitCases(t) {
		add(r)
	}

	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tEXPECTED\tGOT\tOK")
	for _, r := range rows {
		got := r.got
		if len(got) > 110 { // the end of an error says what is wrong
			got = "…" + got[len(got)-110:]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", r.name, r.expected, got, r.ok)
	}
	tw.Flush()
	t.Logf("tamper matrix, %d cases:\n%s", len(rows), buf.String())
	if len(rows) < 40 {
		t.Errorf("%d cases, want at least 40", len(rows))
	}
}

func mustTag(s string) name.Tag {
	t, err := name.NewTag(s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustRandom(t *testing.T) v1.Image {
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// sbomCases are defects 1 and 2: layer bytes that do not match their
// digests, and a cache poisoned through a config's diff_id.
func sbomCases(t *testing.T, e *env) []row {
	victimLayer := sbomtest.DebianLayer(t, sbomtest.DpkgEntry{Name: "adduser", Version: "3.134"}, sbomtest.DpkgEntry{Name: "libc6", Version: "2.36-9"})
	victim := testregistry.Push(t, e.reg+"/sbom/victim:1", testimage.Image(t, "amd64", nil, victimLayer))
	ld, _ := victimLayer.Digest()
	blob := "/blobs/" + ld.String()
	regzip := func(edit func([]byte) []byte) func([]byte) []byte {
		return func(b []byte) []byte {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return b
			}
			plain, _ := io.ReadAll(zr)
			var out bytes.Buffer
			zw := gzip.NewWriter(&out)
			zw.Write(edit(plain))
			zw.Close()
			return out.Bytes()
		}
	}
	evilpk := func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte("Package: adduser"), []byte("Package: evilpk"))
	}
	var rows []row
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"defect 1: package renamed inside a layer (proxy)", regzip(evilpk)},
		{"defect 1: renamed and padded to the manifest's size", func(b []byte) []byte {
			out := regzip(evilpk)(b)
			if len(out) < len(b) {
				out = append(out, make([]byte, len(b)-len(out))...)
			}
			return out[:len(b)]
		}},
		{"defect 1: gzip CRC broken", func(b []byte) []byte { b[len(b)-6] ^= 0xff; return b }},
		{"defect 1: layer truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"blob served for another digest", func(b []byte) []byte { return bytes.Repeat([]byte{0x1f}, len(b)) }},
	} {
		p := faulty.Start(t, e.reg, &faulty.Rule{Method: "GET", Path: blob, Fault: faulty.Rewrite(c.edit)})
		d, _ := name.NewDigest(p.Host + "/sbom/victim@" + victim.DigestStr())
		_, err := sbom.Generate(e.ctx, sbom.Request{Reference: d, Format: sbom.CycloneDX}, sbom.WithCacheDir(t.TempDir()))
		rows = append(rows, errRow(c.name, "sbom: layer 0 digest mismatch", err, errors.Is(err, sbom.ErrDigestMismatch) && strings.Contains(fmt.Sprint(err), "layer 0 (sha256:")))
	}
	for _, c := range []struct {
		name  string
		limit layerfs.Option
	}{
		{"limit: layer expands beyond --max-layer-size", layerfs.WithMaxTotalSize(64)},
		{"limit: layer with more entries than allowed", layerfs.WithMaxEntries(2)},
	} {
		_, err := sbom.Generate(e.ctx, sbom.Request{Reference: victim, Format: sbom.CycloneDX}, sbom.WithLayerLimits(c.limit))
		rows = append(rows, errRow(c.name, "sbom: layerfs.ErrLimit naming layer 0", err, errors.Is(err, layerfs.ErrLimit) && strings.Contains(fmt.Sprint(err), "layer 0 (sha256:")))
	}
	// Defect 2: a config that claims the victim's diff_id.
	victimDiff, _ := victimLayer.DiffID()
	evil := testimage.Layer(t, testimage.File{Name: "var/lib/dpkg/status", Body: "Package: evilpk\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n"})
	attackerImg := testimage.Image(t, "amd64", nil, evil)
	attackerImg = testimage.EditConfig(t, attackerImg, func(cf *v1.ConfigFile) { cf.RootFS.DiffIDs = []v1.Hash{victimDiff} })
	attacker := testregistry.Push(t, e.reg+"/sbom/attacker:1", attackerImg)
	cache := t.TempDir()
	_, err := sbom.Generate(e.ctx, sbom.Request{Reference: attacker, Format: sbom.CycloneDX}, sbom.WithCacheDir(cache))
	rows = append(rows, errRow("defect 2: config claims another image's diff_id (cache poisoning)", "sbom: diff_id mismatch", err,
		errors.Is(err, sbom.ErrDigestMismatch) && strings.Contains(fmt.Sprint(err), "diff_id")))
	res, err := sbom.Generate(e.ctx, sbom.Request{Reference: victim, Format: sbom.CycloneDX}, sbom.WithCacheDir(cache))
	r := row{name: "defect 2: victim after the attacker shares the cache", expected: "2 packages, no evilpk"}
	if err != nil {
		r.got = "error: " + err.Error()
	} else {
		var names []string
		for _, p := range res.Catalog.Packages() {
			names = append(names, p.Name)
		}
		r.got = strings.Join(names, " ")
		r.ok = len(names) == 2 && !strings.Contains(r.got, "evilpk")
	}
	rows = append(rows, r)
	return rows
}

func errRow(name, expected string, err error, ok bool) row {
	r := row{name: name, expected: expected, ok: err != nil && ok}
	if err == nil {
		r.got = "no error"
	} else {
		r.got = "error: " + err.Error()
	}
	return r
}

// gitCases are defects 5 and 6: symbolic links kept as committed, a
// hostile tree and a missing submodule with clear errors.
func gitCases(t *testing.T) []row {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for the repository cases")
	}
	repoOf := func(lines func(blob func(string) string) []string) string {
		bare := filepath.Join(t.TempDir(), "repo.git")
		gitRun(t, "", "init", "-q", "--bare", "-b", "main", bare)
		blob := func(content string) string { return gitRunIn(t, bare, content, "hash-object", "-w", "--stdin") }
		tree := gitRunIn(t, bare, strings.Join(lines(blob), "\n")+"\n", "mktree", "--missing")
		commit := gitRun(t, bare, "commit-tree", "-m", "x", tree)
		gitRun(t, bare, "update-ref", "refs/heads/main", commit)
		return bare
	}
	var rows []row
	links := repoOf(func(blob func(string) string) []string {
		return []string{"120000 blob " + blob("/etc/passwd") + "\tpasswd"}
	})
	dir := filepath.Join(t.TempDir(), "src")
	_, err := gitclone.Clone(context.Background(), links, dir, gitclone.WithRevision("main"))
	target, _ := os.Readlink(filepath.Join(dir, "passwd"))
	r := row{name: "defect 5: absolute symlink kept as committed", expected: "passwd -> /etc/passwd", got: "passwd -> " + target}
	if err != nil {
		r.got = "error: " + err.Error()
	}
	r.ok = err == nil && target == "/etc/passwd"
	rows = append(rows, r)

	hostile := repoOf(func(blob func(string) string) []string {
		return []string{"100644 blob " + blob("x") + "\t.."}
	})
	_, err = gitclone.Clone(context.Background(), hostile, filepath.Join(t.TempDir(), "src"), gitclone.WithRevision("main"))
	rows = append(rows, errRow("defect 6: hostile tree (entry \"..\")", "git-clone: malformed or hostile tree", err, strings.Contains(fmt.Sprint(err), "malformed or hostile")))

	sub := repoOf(func(blob func(string) string) []string {
		gm := "[submodule \"vendor-lib\"]\n\tpath = lib\n\turl = " + filepath.Join(t.TempDir(), "gone.git") + "\n"
		return []string{"100644 blob " + blob(gm) + "\t.gitmodules", "160000 commit " + strings.Repeat("ab", 20) + "\tlib"}
	})
	_, err = gitclone.Clone(context.Background(), sub, filepath.Join(t.TempDir(), "src"), gitclone.WithRevision("main"), gitclone.WithSubmodules(true))
	rows = append(rows, errRow("defect 6: missing submodule", "git-clone: names submodule vendor-lib", err, strings.Contains(fmt.Sprint(err), `submodule "vendor-lib"`)))
	return rows
}

func gitRun(t *testing.T, dir string, args ...string) string { return gitRunIn(t, dir, "", args...) }

func gitRunIn(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
