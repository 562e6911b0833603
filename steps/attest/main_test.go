package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

const password = "s3cret-for-tests"

// cosignBin finds the cosign CLI the interop tests run. They fail, not
// skip, without it: interop is a deliverable.
func cosignBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		gopath = strings.TrimSpace(string(out))
	}
	p := filepath.Join(gopath, "bin", "cosign")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("cosign CLI not found on PATH or in %s/bin; install it with: GOFLAGS= go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5", gopath)
	}
	return p
}

// runCosign runs cosign offline against the loopback registry.
func runCosign(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cosignBin(t), args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "DOCKER_CONFIG=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"), "PATH=" + os.Getenv("PATH")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// pushImage pushes an image whose contents do not matter to
// host/repo:v1.
func pushImage(t *testing.T, host, repo string) name.Digest {
	t.Helper()
	return testregistry.PushRandom(t, host+"/"+repo+":v1")
}

func writeKey(t *testing.T, alg signing.Algorithm) (dir string) {
	t.Helper()
	kp, err := signing.Generate(alg, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if _, _, err := kp.WriteFiles(dir, "cosign"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// step runs the attest CLI in-process and returns its exit code and
// stderr.
func step(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	app := newApp(func(k string) string { return env[k] })
	app.Writer = &bytes.Buffer{}
	code := stepcli.Run(app, append([]string{"attest"}, args...), &stderr)
	return code, stderr.String()
}

var pwEnv = map[string]string{"COSIGN_PASSWORD": password}

func TestCosignVerifiesWhatWeWrite(t *testing.T) {
	host := testregistry.Start(t)
	for _, alg := range []signing.Algorithm{signing.ECDSAP256, signing.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			d := pushImage(t, host, "team/"+string(alg))
			keys := writeKey(t, alg)
			results := t.TempDir()
			code, stderr := step(t, pwEnv, "attest", "--image", d.String(), "--key", filepath.Join(keys, "cosign.key"),
				"--sign",
				"--predicate", "testdata/slsa1.json", "--type", "slsaprovenance1",
				"--predicate", "testdata/cyclonedx.json", "--type", "cyclonedx",
				"--predicate", "testdata/vuln.json", "--type", "vuln",
				"--test-output", "@testdata/test_output.json", "--test-name", "scan",
				"--results-dir", results)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if b, _ := os.ReadFile(filepath.Join(results, "ATTESTATION_REF")); string(b) != cosignoci.AttestationTag(d).String() {
				t.Errorf("ATTESTATION_REF = %q", b)
			}
			pub := filepath.Join(keys, "cosign.pub")
			if out, err := runCosign(t, nil, "verify", "--key", pub, "--insecure-ignore-tlog", "--allow-insecure-registry", d.String()); err != nil {
				t.Fatalf("cosign verify: %v\n%s", err, out)
			}
			for _, typ := range []string{"slsaprovenance1", "cyclonedx", "vuln", "https://in-toto.io/attestation/test-result/v0.1"} {
				out, err := runCosign(t, nil, "verify-attestation", "--key", pub, "--type", typ, "--insecure-ignore-tlog", "--allow-insecure-registry", d.String())
				if err != nil {
					t.Fatalf("cosign verify-attestation --type %s: %v\n%s", typ, err, out)
				}
			}
			// Another key must not verify: cosign really checks.
			other := writeKey(t, alg)
			if out, err := runCosign(t, nil, "verify", "--key", filepath.Join(other, "cosign.pub"), "--insecure-ignore-tlog", "--allow-insecure-registry", d.String()); err == nil {
				t.Fatalf("cosign verified with an unrelated key:\n%s", out)
			}
		})
	}
}

func TestCosignKeysAndSignaturesWorkHere(t *testing.T) {
	host := testregistry.Start(t)
	d := pushImage(t, host, "app")
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=" + password}
	if out, err := runCosign(t, env, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign")); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	key, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if _, err := signing.Load(key, signing.WithPassword([]byte(password))); err != nil {
		t.Fatalf("loading a cosign-made key: %v", err)
	}
	// cosign signs and attests with its own key...
	if out, err := runCosign(t, env, "sign", "--key", key, "--tlog-upload=false", "--yes", "--allow-insecure-registry", d.String()); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	if out, err := runCosign(t, env, "attest", "--key", key, "--tlog-upload=false", "--yes", "--allow-insecure-registry",
		"--type", "cyclonedx", "--predicate", "testdata/cyclonedx.json", d.String()); err != nil {
		t.Fatalf("cosign attest: %v\n%s", err, out)
	}
	// ...we append with the same key, found as a task finds it (an empty
	// --key from an unbound workspace, the secret as --fallback-key)...
	if code, stderr := step(t, pwEnv, "attest", "--image", d.String(), "--key", "", "--fallback-key", key, "--sign",
		"--predicate-dir", "testdata", "--results-dir", "", "slsaprovenance1=slsa1.json"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// ...and our reader verifies both cosign's and ours.
	ctx := context.Background()
	v, err := signing.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	c := cosignoci.New()
	sigs, err := c.Signatures(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// Our simple-signing payload is byte for byte cosign's, so signing
	// again with the same key is recognised as a duplicate (as cosign
	// does) and not appended.
	if len(sigs) != 1 {
		for _, s := range sigs {
			t.Logf("payload %s", s.Payload)
		}
		t.Fatalf("%d signatures, want cosign's one (ours is a duplicate)", len(sigs))
	}
	for _, s := range sigs {
		if _, err := s.Verify(ctx, v, d); err != nil {
			t.Errorf("signature %s: %v", s.Digest, err)
		}
	}
	atts, err := c.Attestations(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, a := range atts {
		st, err := a.Verify(ctx, v, d)
		if err != nil {
			t.Fatalf("attestation %s: %v", a.Digest, err)
		}
		types = append(types, st.PredicateType)
	}
	if fmt.Sprint(types) != "[https://cyclonedx.org/bom https://slsa.dev/provenance/v1]" {
		t.Errorf("attestations appended in order: %v", types)
	}
	// And cosign verifies the mix.
	if out, err := runCosign(t, nil, "verify-attestation", "--key", pub, "--type", "slsaprovenance1", "--insecure-ignore-tlog", "--allow-insecure-registry", d.String()); err != nil {
		t.Fatalf("cosign verify-attestation: %v\n%s", err, out)
	}
}

func TestBadInputPushesNothing(t *testing.T) {
	host := testregistry.Start(t)
	d := pushImage(t, host, "app")
	keys := writeKey(t, signing.ECDSAP256)
	key := filepath.Join(keys, "cosign.key")
	missing := d.Repository.Digest("sha256:" + strings.Repeat("0", 64))
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"tag not digest":   {pwEnv, []string{"sign", "--image", d.Repository.Tag("v1").String(), "--key", key}, "must be repo@sha256"},
		"digest not there": {pwEnv, []string{"sign", "--image", missing.String(), "--key", key}, "not found in the registry"},
		"wrong password":   {map[string]string{"COSIGN_PASSWORD": "nope-wrong"}, []string{"sign", "--image", d.String(), "--key", key}, "wrong password"},
		"no password":      {nil, []string{"sign", "--image", d.String(), "--key", key}, "wrong password"},
		"not json":         {pwEnv, []string{"attest", "--sign", "--image", d.String(), "--key", key, "--predicate", "testdata/notjson.txt", "--type", "cyclonedx"}, "testdata/notjson.txt: not a JSON object"},
		"type mismatch":    {pwEnv, []string{"attest", "--sign", "--image", d.String(), "--key", key, "--predicate", "testdata/cyclonedx.json", "--type", "slsaprovenance1"}, "does not match --type slsaprovenance1"},
		"unpaired type":    {pwEnv, []string{"attest", "--image", d.String(), "--key", key, "--predicate", "testdata/cyclonedx.json"}, "each predicate needs its type"},
		"bad type":         {pwEnv, []string{"attest", "--image", d.String(), "--key", key, "--predicate", "testdata/cyclonedx.json", "--type", "bom"}, "neither one of"},
		"bad test output":  {pwEnv, []string{"attest", "--image", d.String(), "--key", key, "--test-output", `{"result":"GREAT"}`}, "TEST_OUTPUT"},
		"no key":           {pwEnv, []string{"sign", "--image", d.String(), "--key", ""}, "no signing key"},
		"bad positional":   {pwEnv, []string{"attest", "--image", d.String(), "--key", key, "cyclonedx"}, "want TYPE=FILE"},
		"missing key":      {pwEnv, []string{"sign", "--image", d.String(), "--key", filepath.Join(keys, "nope.key")}, "nope.key"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stderr := step(t, tc.env, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", stderr, tc.want)
			}
			if strings.Contains(stderr, password) {
				t.Errorf("stderr leaks the password")
			}
		})
	}
	tags, err := remote.List(d.Repository)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tags) != "[v1]" {
		t.Fatalf("bad input pushed something: tags %v", tags)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOutputAndHelp(t *testing.T) {
	host := testregistry.Start(t)
	d := pushImage(t, host, "app")
	keys := writeKey(t, signing.ECDSAP256)
	out := filepath.Join(t.TempDir(), "out.json")
	results := t.TempDir()
	// keys is a directory without cosign.password: COSIGN_PASSWORD is
	// used.
	if code, stderr := step(t, pwEnv, "sign", "--image", d.String(), "--key", keys, "--output", out, "--results-dir", results); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Image        string `json:"image"`
		SignatureTag string `json:"signatureTag"`
		KeyID        string `json:"keyId"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Image != d.String() || res.SignatureTag != cosignoci.SignatureTag(d).String() || res.KeyID == "" {
		t.Fatalf("output %s", b)
	}
	if got, _ := os.ReadFile(filepath.Join(results, "SIGNATURE_REF")); string(got) != res.SignatureTag {
		t.Fatalf("SIGNATURE_REF %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(results, "ATTESTATION_REF")); string(got) != "" {
		t.Fatalf("ATTESTATION_REF %q for a sign-only call", got)
	}
	for _, args := range [][]string{{"--help"}, {"sign", "--help"}, {"attest", "--help"}} {
		if code, stderr := step(t, nil, args...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}
