package cosignoci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/trustline-dev/trustline/internal/signing"
)

// MaxLayerSize bounds what a reader loads from one signature or
// attestation layer; a registry is not trusted to send sane sizes.
const MaxLayerSize = 32 << 20

// Signatures returns the simple-signing signatures stored at the .sig tag
// of d, in layer order, with their payloads. No tag means no signatures
// (nil, nil). Nothing is verified: call Signature.Verify.
func (c *Client) Signatures(ctx context.Context, d name.Digest) ([]Signature, error) {
	tag := SignatureTag(d)
	img, err := remote.Image(tag, c.ropts(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	sigs, err := readSignatures(img)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	return sigs, nil
}

func readSignatures(img v1.Image) ([]Signature, error) {
	var out []Signature
	for l, err := range layersOf(img, isMediaType(SimpleSigningMediaType)) {
		if err != nil {
			return nil, err
		}
		out = append(out, Signature{
			Payload:         l.data,
			Base64Signature: l.desc.Annotations[SignatureAnnotation],
			Annotations:     l.desc.Annotations,
			Digest:          l.desc.Digest,
		})
	}
	return out, nil
}

// layer is one layer of an image read whole, with the manifest that
// lists it.
type layer struct {
	manifest *v1.Manifest
	desc     v1.Descriptor
	data     []byte
}

// layersOf reads, in order, the layers of img whose media type keep
// accepts. An error (reading the manifest or a layer) is the last thing
// it yields; a layer is read only when the one before has been taken, so
// a caller that stops early reads no more.
func layersOf(img v1.Image, keep func(types.MediaType) bool) iter.Seq2[layer, error] {
	return func(yield func(layer, error) bool) {
		m, err := img.Manifest()
		if err != nil {
			yield(layer{}, err)
			return
		}
		for _, l := range m.Layers {
			if !keep(l.MediaType) {
				continue
			}
			b, err := layerBytes(img, l)
			if err != nil {
				yield(layer{}, err)
				return
			}
			if !yield(layer{manifest: m, desc: l, data: b}, nil) {
				return
			}
		}
	}
}

func isMediaType(want types.MediaType) func(types.MediaType) bool {
	return func(mt types.MediaType) bool { return mt == want }
}

func layerBytes(img v1.Image, l v1.Descriptor) ([]byte, error) {
	if l.Size > MaxLayerSize || l.Size < 0 {
		return nil, fmt.Errorf("layer %s is %d bytes, more than the %d allowed", l.Digest, l.Size, MaxLayerSize)
	}
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	// go-containerregistry checks the digest as the blob is read to its end.
	b, err := io.ReadAll(io.LimitReader(rc, MaxLayerSize+1))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	if len(b) > MaxLayerSize {
		return nil, fmt.Errorf("layer %s is larger than %d bytes", l.Digest, MaxLayerSize)
	}
	return b, nil
}

// ReadOption configures Attestations.
type ReadOption func(*readOptions)

type readOptions struct{ referrers bool }

// WithReferrers also reads sigstore bundle referrers of the image (OCI 1.1
// referrers API, or its tag fallback). The default reads only the .att tag.
func WithReferrers() ReadOption { return func(o *readOptions) { o.referrers = true } }

// Attestations returns the DSSE attestations stored at the .att tag of d
// and, WithReferrers, the ones in sigstore bundle referrers. No tag and no
// referrers means no attestations (nil, nil). Nothing is verified: call
// Attestation.Verify.
func (c *Client) Attestations(ctx context.Context, d name.Digest, opts ...ReadOption) ([]Attestation, error) {
	var o readOptions
	for _, opt := range opts {
		opt(&o)
	}
	tag := AttestationTag(d)
	var out []Attestation
	img, err := remote.Image(tag, c.ropts(ctx)...)
	switch {
	case err == nil:
		for l, err := range layersOf(img, isMediaType(DSSEMediaType)) {
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", tag, err)
			}
			out = append(out, Attestation{
				Envelope:      l.data,
				PredicateType: l.desc.Annotations[PredicateTypeAnnotation],
				Annotations:   l.desc.Annotations,
				Source:        SourceTag,
				Digest:        l.desc.Digest,
			})
		}
	case isNotFound(err):
	default:
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	if o.referrers {
		refs, err := c.bundleReferrers(ctx, d)
		if err != nil {
			return nil, err
		}
		out = append(out, refs...)
	}
	return out, nil
}

func (c *Client) bundleReferrers(ctx context.Context, d name.Digest) ([]Attestation, error) {
	idx, err := remote.Referrers(d, c.ropts(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	var out []Attestation
	for _, desc := range im.Manifests {
		// The referrers API reports the manifest's artifactType; some
		// registries (go-containerregistry's own among them) report the
		// config media type instead, which for a bundle is the empty
		// descriptor type. Such candidates are confirmed by their layers.
		if !strings.HasPrefix(desc.ArtifactType, "application/vnd.dev.sigstore.bundle") &&
			desc.ArtifactType != emptyMediaType && desc.Annotations[BundleContentAnnotation] == "" {
			continue
		}
		ref := d.Repository.Digest(desc.Digest.String())
		img, err := remote.Image(ref, c.ropts(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
		}
		isBundle := func(mt types.MediaType) bool {
			return strings.HasPrefix(string(mt), "application/vnd.dev.sigstore.bundle")
		}
		for l, err := range layersOf(img, isBundle) {
			if err != nil {
				return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
			}
			env, err := EnvelopeFromBundle(l.data)
			if err != nil {
				return nil, fmt.Errorf("referrer %s: %w", ref, err)
			}
			out = append(out, Attestation{
				Envelope:      env,
				PredicateType: l.manifest.Annotations[BundlePredicateTypeAnnotation],
				Annotations:   l.manifest.Annotations,
				Source:        SourceReferrer,
				Digest:        desc.Digest,
			})
		}
	}
	return out, nil
}

// EnvelopeFromBundle extracts the DSSE envelope JSON from a sigstore
// bundle (v0.1 to v0.3 JSON). A bundle holding a message signature instead
// of an envelope is an error.
func EnvelopeFromBundle(b []byte) ([]byte, error) {
	var bu struct {
		MediaType    string          `json:"mediaType"`
		DSSEEnvelope json.RawMessage `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(b, &bu); err != nil {
		return nil, fmt.Errorf("sigstore bundle is not JSON: %w", err)
	}
	if !strings.HasPrefix(bu.MediaType, "application/vnd.dev.sigstore.bundle") {
		return nil, fmt.Errorf("sigstore bundle: unexpected mediaType %q", bu.MediaType)
	}
	if len(bu.DSSEEnvelope) == 0 || string(bu.DSSEEnvelope) == "null" {
		return nil, errors.New("sigstore bundle holds no dsseEnvelope")
	}
	if _, _, err := signing.ParseEnvelope(bu.DSSEEnvelope); err != nil {
		return nil, fmt.Errorf("sigstore bundle: %w", err)
	}
	return bu.DSSEEnvelope, nil
}

// ErrWrongImage is returned (wrapped) by Verify when a signature or
// statement is valid but about another image.
var ErrWrongImage = errors.New("signed for another image")

// Verify checks the signature with v and that its payload is a
// simple-signing payload for the image d (same manifest digest). It
// returns the payload. The claimed identity (docker-reference) is not
// compared: callers that care compare it to d.Repository.
func (s Signature) Verify(ctx context.Context, v *signing.Verifier, d name.Digest) (*payload.SimpleContainerImage, error) {
	if s.Base64Signature == "" {
		return nil, fmt.Errorf("layer %s has no %s annotation", s.Digest, SignatureAnnotation)
	}
	if err := v.VerifyBase64(ctx, s.Payload, s.Base64Signature); err != nil {
		return nil, fmt.Errorf("signature layer %s: %w", s.Digest, err)
	}
	p, err := ParseSimpleSigning(s.Payload)
	if err != nil {
		return nil, fmt.Errorf("signature layer %s: %w", s.Digest, err)
	}
	if p.Critical.Image.DockerManifestDigest != d.DigestStr() {
		return nil, fmt.Errorf("signature layer %s is for %s, not %s: %w", s.Digest, p.Critical.Image.DockerManifestDigest, d.DigestStr(), ErrWrongImage)
	}
	return p, nil
}

// Verify checks the envelope's signature with v, that it carries an
// in-toto statement whose subject includes d's digest, and that the
// statement's predicateType matches the stored annotation (when there is
// one). It returns the statement; with ErrWrongImage it returns it too (its
// signature verified), so a caller can say what the misplaced attestation
// was: Tekton Chains stores no predicateType annotation.
func (a Attestation) Verify(ctx context.Context, v *signing.Verifier, d name.Digest) (*Statement, error) {
	pt, body, err := v.VerifyDSSE(ctx, a.Envelope)
	if err != nil {
		return nil, fmt.Errorf("attestation %s: %w", a.Digest, err)
	}
	if pt != InTotoPayloadType {
		return nil, fmt.Errorf("attestation %s: payloadType %q is not %q", a.Digest, pt, InTotoPayloadType)
	}
	st, err := ParseStatement(body)
	if err != nil {
		return nil, fmt.Errorf("attestation %s: %w", a.Digest, err)
	}
	if !st.HasSubject(d) {
		return st, fmt.Errorf("attestation %s: no subject with digest %s: %w", a.Digest, d.DigestStr(), ErrWrongImage)
	}
	if a.PredicateType != "" && a.PredicateType != st.PredicateType {
		return nil, fmt.Errorf("attestation %s: annotation says predicateType %q, statement says %q", a.Digest, a.PredicateType, st.PredicateType)
	}
	return st, nil
}
