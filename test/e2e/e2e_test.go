// Package e2e runs trustline's main job end to end: the demo pipeline
// (scripts/demo.sh, `trustline run pipeline` with Chains' signing) against
// Debian's docker-registry (the CNCF distribution registry) started on
// 127.0.0.1, then the policy gate on what landed in the registry, and the
// tampering that must make the gate fail, each with its own reason.
package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/sharedtest"
	"github.com/trustline-dev/trustline/internal/signing"
)

var (
	repoRoot string
	binDir   string
)

func TestMain(m *testing.M) {
	root, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	repoRoot = root
	// The binaries under test, built exactly as `make build` builds them
	// into bin/ (so after `make build` this is quick: go build leaves
	// up-to-date binaries alone).
	dir := filepath.Join(repoRoot, "bin")
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "./cmd/trustline", "./steps/...")
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the binaries:", err)
		os.Exit(2)
	}
	binDir = dir
	os.Exit(m.Run())
}

// wantViolations fails the test unless verify-policy exited 1 and
// reported every violation in want.
func wantViolations(t *testing.T, code int, codes []string, want ...string) {
	t.Helper()
	if code != 1 || slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(codes, w) }) {
		t.Errorf("exit %d, violations %v: want %s", code, codes, strings.Join(want, " and "))
	}
}

// startRegistry runs Debian's docker-registry on a free loopback port with
// a throwaway configuration and storage, until the test ends.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal("docker-registry not found: install Debian's distribution registry with `apt-get install -y docker-registry` (the test starts it itself on 127.0.0.1)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// demo is one run of scripts/demo.sh against a registry.
type demo struct {
	out    string
	repo   string // registry/trustline-demo
	image  name.Digest
	gitURL string
	commit string
	output string
	// lastReport is the JSON report of the last verify.
	lastReport []byte
}

// runDemo runs the demo with the sample app's golang.org/x/text upgraded
// to the fixed v0.3.8 (fixed) or as it is (v0.3.7, GO-2022-1059), scanning
// with the OSV database in osvDir.
func runDemo(t *testing.T, registry string, fixed bool, osvDir string) *demo {
	t.Helper()
	out := t.TempDir()
	args := []string{filepath.Join(repoRoot, "scripts", "demo.sh"), "--registry", registry, "--out", out, "--bin-dir", binDir}
	if fixed {
		args = append(args, "--fixed")
	}
	cmd := exec.Command("bash", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "TRUSTLINE_OSV_DB="+osvDir)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	err := cmd.Run()
	d := &demo{out: out, repo: registry + "/trustline-demo", output: output.String()}
	b, rerr := os.ReadFile(filepath.Join(out, "run", "results.json"))
	if rerr != nil {
		t.Fatalf("the pipeline did not run (%v, %v):\n%s", err, rerr, output.String())
	}
	var res map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	dig, _ := res["IMAGE_DIGEST"].(string)
	d.gitURL, _ = res["CHAINS-GIT_URL"].(string)
	d.commit, _ = res["CHAINS-GIT_COMMIT"].(string)
	if dig == "" {
		t.Fatalf("the pipeline built no image (%v):\n%s", err, output.String())
	}
	if d.image, err = name.NewDigest(d.repo + "/sample-app@" + dig); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo: %s\n%s", d.image, tail(output.String(), 60))
	return d
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// verify runs the verify-policy step on ref (a digest or tag) with the
// demo's policy (or policy) and public key (or pub), and returns its exit
// code and the codes of the violations it reported.
func (d *demo) verify(t *testing.T, ref, policy, pub string) (int, []string) {
	t.Helper()
	if policy == "" {
		policy = filepath.Join(d.out, "policy", "policy.yaml")
	}
	if pub == "" {
		pub = filepath.Join(d.out, "keys", "cosign.pub")
	}
	snapshot := fmt.Sprintf(`{"components":[{"name":"sample-app","containerImage":%q,"source":{"git":{"url":%q,"revision":%q}}}]}`, ref, d.gitURL, d.commit)
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(filepath.Join(binDir, "verify-policy"), "--images", snapshot, "--policy", policy,
		"--public-key", pub, "--output", "json="+report, "--results-dir", t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("verify-policy exit %d wrote no report: %s", code, stderr.String())
	}
	d.lastReport = b
	return code, violationCodes(b)
}

// success is the report's verdict (Conforma's top-level "success").
func success(report []byte) (bool, error) {
	var r struct {
		Success *bool `json:"success"`
	}
	if err := json.Unmarshal(report, &r); err != nil {
		return false, err
	}
	if r.Success == nil {
		return false, fmt.Errorf("no success field in the report")
	}
	return *r.Success, nil
}

// violationCodes collects metadata.code of every violation in a
// Conforma-shaped report.
func violationCodes(report []byte) []string {
	var doc any
	if json.Unmarshal(report, &doc) != nil {
		return nil
	}
	seen := map[string]bool{}
	var walk func(v any, inViolations bool)
	walk = func(v any, inViolations bool) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if inViolations && k == "code" {
					if s, ok := x.(string); ok {
						seen[s] = true
					}
				}
				walk(x, inViolations || k == "violations")
			}
		case []any:
			for _, x := range t {
				walk(x, inViolations)
			}
		}
	}
	walk(doc, false)
	var out []string
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// What the runner and Chains are responsible for: with these wired, none
// of these rules may fail on the untouched image.
var chainsRules = []string{
	"signature.image_signed", "provenance.attestation_present", "provenance.builder_trusted",
	"trusted_task.data", "trusted_task.trusted", "trusted_task.current", "trusted_task.pinned",
	"source.matches_snapshot",
}

func TestPipelineOnDockerRegistry(t *testing.T) {
	ctx := context.Background()
	registry := startRegistry(t)
	d := runDemo(t, registry, true, sharedtest.OSV(t))

	// Chains' part: the image is signed and its provenance attached, both
	// verifiable with the demo's key.
	verifier, err := signing.LoadPublicKey(filepath.Join(d.out, "keys", "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	client := cosignoci.New()
	sigs, err := client.Signatures(ctx, d.image)
	if err != nil || len(sigs) == 0 {
		t.Fatalf("signatures of %s: %v (%d)", d.image, err, len(sigs))
	}
	if _, err := sigs[0].Verify(ctx, verifier, d.image); err != nil {
		t.Errorf("signature: %v", err)
	}
	atts, err := client.Attestations(ctx, d.image)
	if err != nil {
		t.Fatal(err)
	}
	provenances := 0
	for _, a := range atts {
		st, err := a.Verify(ctx, verifier, d.image)
		if err != nil {
			t.Errorf("attestation %s: %v", a.PredicateType, err)
			continue
		}
		if st.PredicateType == provenance.PredicateSLSA1 {
			provenances++
		}
	}
	if provenances < 2 {
		t.Errorf("%d SLSA provenance attestations, want the build TaskRun's and the PipelineRun's", provenances)
	}

	// The gate on the untouched image.
	code, codes := d.verify(t, d.image.String(), "", "")
	t.Logf("release gate on the untouched image: exit %d, violations %v", code, codes)
	for _, r := range chainsRules {
		if slices.Contains(codes, r) {
			t.Errorf("untouched image: %s failed", r)
		}
	}
	if code != 0 || len(codes) > 0 {
		t.Fatalf("untouched image: exit %d, violations %v: want a pass (exit 0, no violation)\n%s", code, codes, tail(d.output, 60))
	}
	if ok, err := success(d.lastReport); err != nil || !ok {
		t.Errorf("untouched image: report verdict success=%v (%v)", ok, err)
	}
	if !strings.Contains(d.output, "policy verdict: PASS") {
		t.Errorf("the demo did not end with the PASS verdict:\n%s", tail(d.output, 20))
	}

	t.Run("signature by another key", func(t *testing.T) {
		other, err := signing.Generate(signing.ECDSAP256, nil)
		if err != nil {
			t.Fatal(err)
		}
		pub := filepath.Join(t.TempDir(), "other.pub")
		if err := os.WriteFile(pub, other.Public, 0o644); err != nil {
			t.Fatal(err)
		}
		code, codes := d.verify(t, d.image.String(), "", pub)
		wantViolations(t, code, codes, "signature.image_signed", "provenance.attestation_present")
	})

	policy, err := os.ReadFile(filepath.Join(d.out, "policy", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writePolicy := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("provenance from an untrusted task bundle digest", func(t *testing.T) {
		// The build-image bundle the pipeline ran is no longer the trusted
		// digest for its repository.
		re := regexp.MustCompile(`(task-build-image:0\.1":\n\s+- ref: ")sha256:[0-9a-f]{64}`)
		if !re.Match(policy) {
			t.Fatalf("no build-image record in the policy:\n%s", policy)
		}
		body := re.ReplaceAllString(string(policy), "${1}sha256:"+strings.Repeat("0", 64))
		code, codes := d.verify(t, d.image.String(), writePolicy(t, body), "")
		wantViolations(t, code, codes, "trusted_task.trusted")
	})

	t.Run("expired trusted task", func(t *testing.T) {
		re := regexp.MustCompile(`(?m)^(\s*)effective_on: "2020-01-01T00:00:00Z"$`)
		body := re.ReplaceAllString(string(policy), "${1}effective_on: \"2020-01-01T00:00:00Z\"\n${1}expires_on: \"2021-01-01T00:00:00Z\"")
		if body == string(policy) {
			t.Fatal("no effective_on in the policy")
		}
		code, codes := d.verify(t, d.image.String(), writePolicy(t, body), "")
		wantViolations(t, code, codes, "trusted_task.current")
	})

	t.Run("SBOM missing", func(t *testing.T) {
		// Rewrite the image's .att without its SBOM attestations, keeping
		// every other layer as it was.
		attTag := cosignoci.AttestationTag(d.image)
		att, err := remote.Image(attTag)
		if err != nil {
			t.Fatal(err)
		}
		m, err := att.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		layers, err := att.Layers()
		if err != nil {
			t.Fatal(err)
		}
		base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		var keep []mutate.Addendum
		removed := 0
		for i, desc := range m.Layers {
			switch desc.Annotations[cosignoci.PredicateTypeAnnotation] {
			case "https://cyclonedx.org/bom", "https://spdx.dev/Document":
				removed++
				continue
			}
			keep = append(keep, mutate.Addendum{Layer: layers[i], Annotations: desc.Annotations, MediaType: desc.MediaType})
		}
		if removed == 0 {
			t.Fatalf("no SBOM attestation in %s to remove", attTag)
		}
		stripped, err := mutate.Append(base, keep...)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(attTag, stripped); err != nil {
			t.Fatal(err)
		}
		code, codes := d.verify(t, d.image.String(), "", "")
		wantViolations(t, code, codes, "sbom.attached")
		if slices.Contains(codes, "provenance.attestation_present") {
			t.Errorf("violations %v: the provenance was kept", codes)
		}
	})

	t.Run("image re-pushed with a changed layer after signing", func(t *testing.T) {
		tag, err := name.NewTag(d.repo + "/sample-app:demo")
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(d.image)
		if err != nil {
			t.Fatal(err)
		}
		layer, err := random.Layer(512, "application/vnd.oci.image.layer.v1.tar+gzip")
		if err != nil {
			t.Fatal(err)
		}
		changed, err := mutate.AppendLayers(img, layer)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, changed); err != nil {
			t.Fatal(err)
		}
		code, codes := d.verify(t, tag.String(), "", "")
		wantViolations(t, code, codes, "signature.image_signed", "provenance.attestation_present")
	})

	t.Run("signature removed", func(t *testing.T) {
		sigTag := cosignoci.SignatureTag(d.image)
		desc, err := remote.Head(sigTag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Delete(sigTag.Context().Digest(desc.Digest.String())); err != nil {
			t.Fatal(err)
		}
		code, codes := d.verify(t, d.image.String(), "", "")
		wantViolations(t, code, codes, "signature.image_signed")
		if slices.Contains(codes, "provenance.attestation_present") {
			t.Errorf("violations %v: the provenance is still there", codes)
		}
	})
}

// highSeverityOSV writes an OSV database (Go/all.zip) holding the real
// GO-2022-1059 entry from shared/osv, which the sample app's
// golang.org/x/text v0.3.7 is affected by, with the CVSS v3.1 vector the
// GitHub advisory of its alias (GHSA-69ch-w2m2-3vjp, CVE-2022-32149) gives
// it: 7.5, high. The Go database itself rates no severity, so the real
// entry alone is a finding of unknown severity.
func highSeverityOSV(t *testing.T) string {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(sharedtest.OSV(t), "Go", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var entry map[string]any
	for _, f := range zr.File {
		if f.Name != "GO-2022-1059.json" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(rc).Decode(&entry)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if entry == nil {
		t.Fatal("GO-2022-1059 is not in shared/osv/Go/all.zip")
	}
	entry["severity"] = []any{map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Go"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "Go", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("GO-2022-1059.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(w).Encode(entry); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A scan above the threshold: the sample app as it is (x/text v0.3.7) has
// a high finding without a VEX statement. The scan task only warns (it
// fails on critical), so the report is attached and signed; the policy's
// threshold (high) rejects the image at the in-pipeline gate and at the
// release gate, naming the advisory.
func TestScanAboveThreshold(t *testing.T) {
	registry := startRegistry(t)
	d := runDemo(t, registry, false, highSeverityOSV(t))
	if !strings.Contains(d.output, "policy verdict: FAIL") {
		t.Errorf("the demo did not end with the FAIL verdict:\n%s", tail(d.output, 30))
	}
	code, codes := d.verify(t, d.image.String(), "", "")
	if code != 1 || !slices.Contains(codes, "cve.below_threshold") {
		t.Fatalf("exit %d, violations %v: want cve.below_threshold", code, codes)
	}
	if !bytes.Contains(d.lastReport, []byte("GO-2022-1059")) {
		t.Errorf("the violation does not name GO-2022-1059:\n%s", d.lastReport)
	}
	for _, c := range codes {
		if c != "cve.below_threshold" {
			t.Errorf("unexpected violation %s: only the scan should fail", c)
		}
	}
}
