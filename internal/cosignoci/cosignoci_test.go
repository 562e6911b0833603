package cosignoci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

func pushRandom(t *testing.T, host, repo string) name.Digest {
	t.Helper()
	return testregistry.PushRandom(t, host+"/"+repo+":latest")
}

func sign(t *testing.T, s *signing.Signer, d name.Digest) Signature {
	t.Helper()
	p, err := SimpleSigningPayload(d)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return Signature{Payload: p, Base64Signature: EncodeSignature(sig)}
}

func attest(t *testing.T, s *signing.Signer, d name.Digest, pt string) Attestation {
	t.Helper()
	st := NewStatement(d, pt, json.RawMessage(`{"k":"v"}`))
	b, _ := json.Marshal(st)
	env, err := s.SignDSSE(context.Background(), InTotoPayloadType, b)
	if err != nil {
		t.Fatal(err)
	}
	return Attestation{Envelope: env, PredicateType: pt}
}

func TestSignaturesAppendAndRead(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	d := pushRandom(t, host, "app")
	c := New()
	s1, v1k := signingtest.NewKeyPair(t)
	s2, v2k := signingtest.NewKeyPair(t)

	tag, err := c.AppendSignatures(ctx, d, v1k, sign(t, s1, d))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s/app:%s.sig", host, "sha256-"+d.DigestStr()[7:]); tag.String() != want {
		t.Fatalf("tag = %s, want %s", tag, want)
	}
	// A second key appends; re-signing with the first key is a duplicate.
	if _, err := c.AppendSignatures(ctx, d, v2k, sign(t, s2, d)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendSignatures(ctx, d, v1k, sign(t, s1, d)); err != nil {
		t.Fatal(err)
	}
	sigs, err := c.Signatures(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 {
		t.Fatalf("%d signatures, want 2 (appended, deduplicated)", len(sigs))
	}
	if _, err := sigs[0].Verify(ctx, v1k, d); err != nil {
		t.Errorf("first signature with first key: %v", err)
	}
	if _, err := sigs[1].Verify(ctx, v2k, d); err != nil {
		t.Errorf("second signature with second key: %v", err)
	}
	if _, err := sigs[0].Verify(ctx, v2k, d); !errors.Is(err, signing.ErrBadSignature) {
		t.Errorf("first signature verified with second key: %v", err)
	}
	other := pushRandom(t, host, "app")
	if _, err := sigs[0].Verify(ctx, v1k, other); !errors.Is(err, ErrWrongImage) {
		t.Errorf("signature verified for another digest: %v", err)
	}

	// The stored shape is cosign's.
	img, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s config %s, want OCI", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != SimpleSigningMediaType || l.Annotations[SignatureAnnotation] == "" {
			t.Errorf("layer %s: media type %s, annotations %v", l.Digest, l.MediaType, l.Annotations)
		}
	}
	var p map[string]any
	json.Unmarshal(sigs[0].Payload, &p)
	crit := p["critical"].(map[string]any)
	if crit["image"].(map[string]any)["docker-manifest-digest"] != d.DigestStr() ||
		crit["identity"].(map[string]any)["docker-reference"] != d.Repository.Name() {
		t.Errorf("payload %s", sigs[0].Payload)
	}
}

func TestNothingWrittenForMissingImage(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	pushRandom(t, host, "app")
	missing, _ := name.NewDigest(host + "/app@sha256:" + fmt.Sprintf("%064x", 42))
	s, v := signingtest.NewKeyPair(t)
	c := New()
	if _, err := c.AppendSignatures(ctx, missing, v, sign(t, s, missing)); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("err = %v, want ErrImageNotFound", err)
	}
	if _, err := c.AppendAttestations(ctx, missing, attest(t, s, missing, "https://example.com/p")); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("err = %v, want ErrImageNotFound", err)
	}
	if _, err := c.WriteBundleReferrers(ctx, missing, s.KeyID(), attest(t, s, missing, "https://example.com/p")); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("err = %v, want ErrImageNotFound", err)
	}
	for _, tag := range []name.Tag{SignatureTag(missing), AttestationTag(missing)} {
		if _, err := remote.Head(tag); err == nil {
			t.Errorf("%s was written", tag)
		}
	}
}

func TestAttestationsAppendAndRead(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	d := pushRandom(t, host, "team/app")
	s, v := signingtest.NewKeyPair(t)
	c := New()
	a1 := attest(t, s, d, "https://slsa.dev/provenance/v1")
	a2 := attest(t, s, d, "https://cyclonedx.org/bom")
	if _, err := c.AppendAttestations(ctx, d, a1, a2); err != nil {
		t.Fatal(err)
	}
	// Appending the same envelope again is a no-op; a new one appends.
	a3 := attest(t, s, d, "https://in-toto.io/attestation/test-result/v0.1")
	if _, err := c.AppendAttestations(ctx, d, a1, a3); err != nil {
		t.Fatal(err)
	}
	atts, err := c.Attestations(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range atts {
		st, err := a.Verify(ctx, v, d)
		if err != nil {
			t.Fatal(err)
		}
		if a.Source != SourceTag || a.Annotations[SignatureAnnotation] != "" {
			t.Errorf("source %s annotations %v", a.Source, a.Annotations)
		}
		got = append(got, st.PredicateType)
	}
	want := []string{"https://slsa.dev/provenance/v1", "https://cyclonedx.org/bom", "https://in-toto.io/attestation/test-result/v0.1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("predicate types %v, want %v", got, want)
	}
	// An annotation that lies about the predicate type is caught.
	atts[0].PredicateType = "https://cyclonedx.org/bom"
	if _, err := atts[0].Verify(ctx, v, d); err == nil {
		t.Error("mismatched predicateType annotation verified")
	}
	// A statement about another image does not verify for d.
	other := pushRandom(t, host, "team/app")
	wrong := attest(t, s, other, "https://cyclonedx.org/bom")
	if st, err := wrong.Verify(ctx, v, d); !errors.Is(err, ErrWrongImage) {
		t.Errorf("statement about another image: %v", err)
	} else if st == nil || st.PredicateType != "https://cyclonedx.org/bom" {
		t.Errorf("statement about another image: returned %+v, want its cyclonedx statement", st)
	}
	// Malformed envelopes are refused before anything is written.
	if _, err := c.AppendAttestations(ctx, other, Attestation{Envelope: []byte("{"), PredicateType: "x"}); err == nil {
		t.Error("malformed envelope written")
	}
	if _, err := remote.Head(AttestationTag(other)); err == nil {
		t.Error(".att written for a refused envelope")
	}
}

func TestBundleReferrers(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	d := pushRandom(t, host, "app")
	s, v := signingtest.NewKeyPair(t)
	c := New()
	a := attest(t, s, d, "https://slsa.dev/provenance/v1")
	refs, err := c.WriteBundleReferrers(ctx, d, s.KeyID(), a)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 {
		t.Fatalf("refs %v", refs)
	}
	img, err := remote.Image(refs[0])
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if m.ArtifactType != BundleMediaType || m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() ||
		m.Annotations[BundleContentAnnotation] != "dsse-envelope" {
		t.Fatalf("referrer manifest %+v", m)
	}
	// Without WithReferrers only the (absent) tag is read.
	if atts, err := c.Attestations(ctx, d); err != nil || len(atts) != 0 {
		t.Fatalf("tag-only read: %v %v", atts, err)
	}
	atts, err := c.Attestations(ctx, d, WithReferrers())
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Source != SourceReferrer {
		t.Fatalf("attestations %+v", atts)
	}
	st, err := atts[0].Verify(ctx, v, d)
	if err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != "https://slsa.dev/provenance/v1" {
		t.Fatal(st.PredicateType)
	}
	var h v1.Hash = atts[0].Digest
	if h.String() != refs[0].DigestStr() {
		t.Errorf("digest %s want %s", h, refs[0].DigestStr())
	}
}
