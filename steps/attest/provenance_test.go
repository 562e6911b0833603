package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// taskRunFor writes a finished TaskRun whose IMAGE_URL/IMAGE_DIGEST
// results name d.
func taskRunFor(t *testing.T, d name.Digest) string {
	t.Helper()
	b, err := os.ReadFile("testdata/taskrun.yaml.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "{{IMAGE_URL}}", d.Repository.Name()+":latest")
	s = strings.ReplaceAll(s, "{{IMAGE_DIGEST}}", d.DigestStr())
	p := filepath.Join(t.TempDir(), "taskrun.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProvenanceAttestation(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	keys := writeKey(t, signing.ECDSAP256)
	key, pub := filepath.Join(keys, "cosign.key"), filepath.Join(keys, "cosign.pub")
	d := pushImage(t, host, "app")
	tr := taskRunFor(t, d)

	for _, tc := range []struct{ format, cosignType string }{{"slsa/v1.0", "slsaprovenance1"}, {"slsa/v0.2", "slsaprovenance02"}} {
		if code, stderr := step(t, pwEnv, "attest", "--image", d.String(), "--key", key, "--results-dir", "",
			"--provenance", tr, "--provenance-format", tc.format); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.format, code, stderr)
		}
		if out, err := runCosign(t, nil, "verify-attestation", "--key", pub, "--type", tc.cosignType, "--insecure-ignore-tlog", "--allow-insecure-registry", d.String()); err != nil {
			t.Fatalf("cosign verify-attestation --type %s: %v\n%s", tc.cosignType, err, out)
		}
	}

	// The stored statement is Chains' statement, byte for byte.
	run, err := provenance.ParseFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	want, err := provenance.TaskRun(ctx, run.TaskRun, provenance.SLSA1)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := signing.LoadPublicKey(pub)
	atts, err := cosignoci.New().Attestations(ctx, d)
	if err != nil || len(atts) != 2 {
		t.Fatalf("%d attestations, %v", len(atts), err)
	}
	_, payload, err := v.VerifyDSSE(ctx, atts[0].Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != string(want) {
		t.Fatalf("stored statement is not Chains' statement:\n got %s\nwant %s", payload, want)
	}

	// Provenance of a run that built another image is refused, and
	// nothing is pushed for it.
	other := pushImage(t, host, "other")
	code, stderr := step(t, pwEnv, "attest", "--image", other.String(), "--key", key, "--provenance", tr)
	if code != 2 || !strings.Contains(stderr, "do not include") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if atts, _ := cosignoci.New().Attestations(ctx, other); len(atts) != 0 {
		t.Fatal("pushed provenance for the wrong image")
	}
}
