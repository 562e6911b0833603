package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
)

func runApp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return stepcli.Capture(newApp(func(string) string { return "" }), append([]string{"verify-policy"}, args...)...)
}

// newKey makes the signer the fixture images are signed with and writes
// its public key, as --public-key reads it, into dir.
func newKey(t *testing.T, dir string) (*signing.Signer, string) {
	t.Helper()
	signer, pub, err := fixture.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return signer, pubFile
}

// goodImage passes the built-in pack: signed, with provenance, SBOM, scan
// and test attestations, and a base image. Its Repo is a name in the
// registry pushSigned starts.
var goodImage = fixture.Image{Repo: "good", Sign: true, Provenance: true, SBOM: true, Scan: true, Tests: true, BaseImage: "quay.io/x/base:1"}

// pushSigned starts a registry and pushes each image to it (Repo: a name
// in it), signed by newKey's key, and returns the registry and the public
// key file newKey wrote into dir.
func pushSigned(t *testing.T, dir string, images ...fixture.Image) (reg, pubFile string) {
	t.Helper()
	reg = testregistry.Start(t)
	signer, pubFile := newKey(t, dir)
	for _, img := range images {
		img.Repo, img.Signer = reg+"/"+img.Repo, signer
		if _, err := fixture.Push(context.Background(), img); err != nil {
			t.Fatal(err)
		}
	}
	return reg, pubFile
}

func TestExitCodesAndOutputs(t *testing.T) {
	dir := t.TempDir()
	bad := goodImage
	bad.Repo, bad.Sign = "bad", false
	reg, pubFile := pushSigned(t, dir, goodImage, bad)
	// A policy file in Conforma's shape, trusting the fixture's tasks.
	tt, _ := json.Marshal(fixture.TrustedTasks(time.Now().AddDate(-1, 0, 0), time.Time{}))
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("apiVersion: appstudio.redhat.com/v1alpha1\nkind: EnterpriseContractPolicy\nspec:\n  sources:\n  - name: release\n    policy: ["+polDir(t)+"/lib, "+polDir(t)+"/release]\n    data: ["+polDir(t)+"/data]\n    ruleData:\n      trusted_tasks: "+string(tt)+"\n"), 0o644)
	snap := filepath.Join(dir, "snapshot.json")
	os.WriteFile(snap, []byte(`{"components":[{"name":"good","containerImage":"`+reg+`/good:latest"}]}`), 0o644)
	results := filepath.Join(dir, "results")

	code, stdout, stderr := runApp(t, "--public-key", pubFile, "--policy", pol, "--images", snap, "--results-dir", results,
		"--output", "json", "--output", "junit="+filepath.Join(dir, "out", "r.xml"), "--output", "text")
	if code != 0 {
		t.Fatalf("good image: exit %d\n%s", code, stderr)
	}
	var rep struct {
		Success    bool `json:"success"`
		Components []struct {
			Name string `json:"name"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || !rep.Success || rep.Components[0].Name != "good" {
		t.Errorf("json on stdout: %v %s", err, stdout)
	}
	if !strings.Contains(stderr, "PASS  good") {
		t.Errorf("text report on stderr: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "r.xml")); err != nil {
		t.Error(err)
	}
	to, _ := os.ReadFile(filepath.Join(results, "TEST_OUTPUT"))
	if !strings.Contains(string(to), `"result":"SUCCESS"`) {
		t.Errorf("TEST_OUTPUT = %s", to)
	}

	code, _, stderr = runApp(t, "--public-key", pubFile, "--policy", pol, "--image", reg+"/bad:latest", "--results-dir", results)
	if code != 1 || !strings.Contains(stderr, "signature.image_signed") {
		t.Errorf("violation: exit %d\n%s", code, stderr)
	}
	to, _ = os.ReadFile(filepath.Join(results, "TEST_OUTPUT"))
	if !strings.Contains(string(to), `"result":"FAILURE"`) {
		t.Errorf("TEST_OUTPUT = %s", to)
	}
	code, _, _ = runApp(t, "--public-key", pubFile, "--policy", pol, "--image", reg+"/bad:latest", "--results-dir", results, "--strict=false")
	if code != 0 {
		t.Errorf("--strict=false: exit %d", code)
	}
	// --exclude adds to the policy's exclusions; an empty value (a task's
	// unset param) excludes nothing.
	code, _, stderr = runApp(t, "--public-key", pubFile, "--policy", pol, "--image", reg+"/bad:latest", "--results-dir", results, "--exclude=")
	if code != 1 || !strings.Contains(stderr, "signature.image_signed") {
		t.Errorf("--exclude=: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runApp(t, "--public-key", pubFile, "--policy", pol, "--image", reg+"/bad:latest", "--results-dir", results, "--exclude", "signature,builtin")
	if strings.Contains(stderr, "[signature.image_signed]") {
		t.Errorf("--exclude signature: exit %d\n%s", code, stderr)
	}

	// The default pack with trusted tasks from a rule data file.
	rd := filepath.Join(dir, "trusted.yaml")
	os.WriteFile(rd, []byte(`{"rule_data": {"trusted_tasks": `+string(tt)+`}}`), 0o644)
	code, _, stderr = runApp(t, "--public-key", pubFile, "--rule-data", rd, "--image", reg+"/good:latest", "--results-dir", results)
	if code != 0 {
		t.Errorf("default pack with --rule-data: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runApp(t, "--public-key", pubFile, "--image", reg+"/good:latest", "--results-dir", results)
	if code != 1 || !strings.Contains(stderr, "trusted_task.data") {
		t.Errorf("default pack without trusted tasks: exit %d\n%s", code, stderr)
	}
	inline := `{"sources":[{"policy":["` + polDir(t) + `/lib","` + polDir(t) + `/release"],"data":["` + polDir(t) + `/data"],"ruleData":{"trusted_tasks":` + string(tt) + `}}]}`
	if code, _, stderr = runApp(t, "--public-key", pubFile, "--policy", inline, "--image", reg+"/good:latest", "--results-dir", results); code != 0 {
		t.Errorf("inline policy: exit %d\n%s", code, stderr)
	}

	badPol := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badPol, []byte("sources: [{policy: [p], exclude: [x]}]\n"), 0o644)
	for name, args := range map[string][]string{
		"malformed policy":   {"--policy", badPol, "--image", reg + "/good:latest"},
		"no images":          {"--policy", pol},
		"bad output":         {"--image", reg + "/good:latest", "--output", "yml"},
		"unreachable":        {"--image", "127.0.0.1:1/x:1"},
		"missing snapshot":   {"--images", filepath.Join(dir, "nope.json")},
		"vsa without key":    {"--image", reg + "/good:latest", "--push-vsa"},
		"bad effective time": {"--image", reg + "/good:latest", "--effective-time", "tomorrow"},
		"bad rule data":      {"--image", reg + "/good:latest", "--rule-data", badPol + ".missing"},
	} {
		code, _, stderr := runApp(t, append([]string{"--public-key", pubFile, "--results-dir", results}, args...)...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", name, code, stderr)
		}
	}
	if code, _, stderr := runApp(t, "--public-key", filepath.Join(dir, "none.pub"), "--image", reg+"/good:latest"); code != 2 || !strings.Contains(stderr, "none.pub") {
		t.Errorf("missing key: exit %d %s", code, stderr)
	}
}

// polDir is the repository's policy pack.
func polDir(t *testing.T) string {
	p, err := filepath.Abs("../../policy")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A policy that would run for minutes and take gigabytes (three nested
// numbers.range) is stopped by --timeout or by --max-memory, with exit 2
// and a message naming the limit.
func TestRunawayPolicyStopped(t *testing.T) {
	dir := t.TempDir()
	reg, pubFile := pushSigned(t, dir, fixture.Image{Repo: "app", Sign: true})
	rules := fixture.RunawayPolicy(t)
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("sources:\n- name: runaway\n  policy: ["+rules+"]\n"), 0o644)
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"timeout", []string{"--timeout", "2s", "--max-memory", "0"}, "took longer than the 2s timeout"},
		// 48 MiB above what the test process holds now.
		{"memory", []string{"--timeout", "0", "--max-memory", fmt.Sprint(heapMiB() + 48)}, "memory limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, _, stderr := runApp(t, append([]string{"--public-key", pubFile, "--policy", pol, "--image", reg + "/app:latest", "--results-dir", t.TempDir()}, tc.flags...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 2 with %q\n%s", code, tc.want, stderr)
			}
			t.Logf("stopped after %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

func heapMiB() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() >> 20
}
