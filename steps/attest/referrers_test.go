package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/trustline-dev/trustline/internal/attest"
	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// TestBundleReferrersInterop checks the OCI 1.1 sigstore-bundle layout both
// ways: cosign --new-bundle-format verifies a referrer we wrote (with no
// .att tag to fall back on), and we read and verify the referrer cosign
// writes. Key-based bundles without a transparency log need a trusted
// root, even an empty one (testdata/trusted_root_empty.json).
func TestBundleReferrersInterop(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	keys := writeKey(t, signing.ECDSAP256)
	pub := filepath.Join(keys, "cosign.pub")
	s, err := signing.Load(filepath.Join(keys, "cosign.key"), signing.WithPassword([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Verifier()

	// Ours, read by cosign.
	d := pushImage(t, host, "ours")
	b, _ := os.ReadFile("testdata/cyclonedx.json")
	p, err := attest.ParsePredicate(b, "cyclonedx")
	if err != nil {
		t.Fatal(err)
	}
	st := cosignoci.NewStatement(d, p.Type, p.Body)
	env, err := s.SignDSSE(ctx, cosignoci.InTotoPayloadType, mustJSON(t, st))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cosignoci.New().WriteBundleReferrers(ctx, d, s.KeyID(), cosignoci.Attestation{Envelope: env, PredicateType: p.Type}); err != nil {
		t.Fatal(err)
	}
	if out, err := runCosign(t, nil, "verify-attestation", "--new-bundle-format", "--trusted-root", "testdata/trusted_root_empty.json",
		"--key", pub, "--insecure-ignore-tlog", "--allow-insecure-registry", "--type", "cyclonedx", d.String()); err != nil {
		t.Fatalf("cosign verify-attestation --new-bundle-format: %v\n%s", err, out)
	}

	// cosign's, read by us.
	d2 := pushImage(t, host, "theirs")
	if out, err := runCosign(t, []string{"COSIGN_PASSWORD=" + password}, "attest", "--new-bundle-format", "--key", filepath.Join(keys, "cosign.key"),
		"--tlog-upload=false", "--yes", "--allow-insecure-registry", "--type", "slsaprovenance1", "--predicate", "testdata/slsa1.json", d2.String()); err != nil {
		t.Fatalf("cosign attest --new-bundle-format: %v\n%s", err, out)
	}
	atts, err := cosignoci.New().Attestations(ctx, d2, cosignoci.WithReferrers())
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, a := range atts {
		if a.Source != cosignoci.SourceReferrer {
			continue
		}
		got, err := a.Verify(ctx, v, d2)
		if err != nil {
			t.Fatalf("cosign's bundle referrer: %v", err)
		}
		found = got.PredicateType == "https://slsa.dev/provenance/v1"
	}
	if !found {
		t.Fatalf("cosign's bundle referrer not found among %d attestations", len(atts))
	}
}
