package cosignoci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/signing"
)

// Signature is one simple-signing layer of a .sig image.
type Signature struct {
	// Payload is the signed simple-signing JSON (the layer's content).
	Payload []byte
	// Base64Signature is the signature over Payload, base64-encoded, as
	// in the dev.cosignproject.cosign/signature annotation.
	Base64Signature string
	// Annotations of the layer descriptor. On write, extra annotations
	// (the signature annotation is set from Base64Signature). On read, all
	// of them.
	Annotations map[string]string
	// Digest of the layer (set on read).
	Digest v1.Hash
}

// Attestation is one DSSE envelope beside an image: a layer of the .att
// image, or the envelope inside a sigstore bundle referrer.
type Attestation struct {
	// Envelope is the DSSE envelope JSON.
	Envelope []byte
	// PredicateType is the predicateType annotation (on read, from the
	// layer or referrer annotation; it is not verified until Verify).
	PredicateType string
	// Annotations of the layer descriptor or referrer manifest (on read).
	Annotations map[string]string
	// Source says where it was read: SourceTag or SourceReferrer.
	Source string
	// Digest of the layer, or of the referrer manifest (set on read).
	Digest v1.Hash
}

// Where an attestation was read.
const (
	SourceTag      = "tag"
	SourceReferrer = "referrer"
)

// emptyOCIImage is the base of a new .sig or .att image: an OCI manifest
// with an OCI config, as cosign makes it unless told to use Docker media
// types.
func emptyOCIImage() v1.Image {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(base, types.OCIConfigJSON)
}

// existing returns the image at tag, or an empty OCI image if the tag does
// not exist.
func (c *Client) existing(ctx context.Context, tag name.Tag) (v1.Image, error) {
	img, err := remote.Image(tag, c.ropts(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return emptyOCIImage(), nil
		}
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	return img, nil
}

// AppendSignatures adds simple-signing signatures to the .sig image of d,
// keeping the ones already there. A signature identical to one already
// stored (same payload, same media type and annotations, and an existing
// signature that verifies with dedupe, when dedupe is not nil) is not
// added twice, as cosign does. It returns the tag written, and fails with
// ErrImageNotFound, writing nothing, if d is not in the registry.
func (c *Client) AppendSignatures(ctx context.Context, d name.Digest, dedupe *signing.Verifier, sigs ...Signature) (name.Tag, error) {
	tag := SignatureTag(d)
	if len(sigs) == 0 {
		return tag, errors.New("no signatures to write")
	}
	if _, err := c.ImageDescriptor(ctx, d); err != nil {
		return tag, err
	}
	base, err := c.existing(ctx, tag)
	if err != nil {
		return tag, err
	}
	old, err := readSignatures(base)
	if err != nil {
		return tag, fmt.Errorf("existing signatures at %s: %w", tag, err)
	}
	var adds []mutate.Addendum
	for _, s := range sigs {
		if s.Base64Signature == "" {
			return tag, errors.New("signature without a value")
		}
		ann := layerAnnotations(s.Annotations)
		ann[SignatureAnnotation] = s.Base64Signature
		if dup(ctx, old, s, ann, dedupe) {
			c.logf("signature already present at %s", tag)
			continue
		}
		adds = append(adds, mutate.Addendum{
			Layer:       static.NewLayer(s.Payload, SimpleSigningMediaType),
			Annotations: ann,
		})
	}
	return tag, c.appendAndWrite(ctx, tag, base, adds, "signature")
}

func dup(ctx context.Context, old []Signature, s Signature, ann map[string]string, v *signing.Verifier) bool {
	want := sha256Digest(s.Payload)
	for _, o := range old {
		if o.Digest.String() != want {
			continue
		}
		same := true
		for k, val := range ann {
			if k != SignatureAnnotation && o.Annotations[k] != val {
				same = false
			}
		}
		if !same {
			continue
		}
		if o.Base64Signature == s.Base64Signature {
			return true
		}
		if v != nil && v.VerifyBase64(ctx, o.Payload, o.Base64Signature) == nil {
			return true
		}
	}
	return false
}

// AppendAttestations adds DSSE attestations to the .att image of d,
// keeping the ones already there, in one manifest write. Each envelope is
// annotated with its predicateType, as cosign attest does. A byte-identical
// envelope already stored is not added twice. It fails with
// ErrImageNotFound, writing nothing, if d is not in the registry.
func (c *Client) AppendAttestations(ctx context.Context, d name.Digest, atts ...Attestation) (name.Tag, error) {
	tag := AttestationTag(d)
	if len(atts) == 0 {
		return tag, errors.New("no attestations to write")
	}
	for i, a := range atts {
		if _, _, err := signing.ParseEnvelope(a.Envelope); err != nil {
			return tag, fmt.Errorf("attestation %d: %w", i+1, err)
		}
		if a.PredicateType == "" {
			return tag, fmt.Errorf("attestation %d: no predicate type", i+1)
		}
	}
	if _, err := c.ImageDescriptor(ctx, d); err != nil {
		return tag, err
	}
	base, err := c.existing(ctx, tag)
	if err != nil {
		return tag, err
	}
	have := map[string]bool{}
	if m, err := base.Manifest(); err == nil {
		for _, l := range m.Layers {
			have[l.Digest.String()] = true
		}
	}
	var adds []mutate.Addendum
	for _, a := range atts {
		if have[sha256Digest(a.Envelope)] {
			c.logf("attestation %s already present at %s", a.PredicateType, tag)
			continue
		}
		ann := layerAnnotations(a.Annotations)
		// cosign puts an empty signature annotation on attestation layers:
		// the signature is inside the envelope.
		ann[SignatureAnnotation] = ""
		ann[PredicateTypeAnnotation] = a.PredicateType
		adds = append(adds, mutate.Addendum{
			Layer:       static.NewLayer(a.Envelope, DSSEMediaType),
			Annotations: ann,
		})
	}
	return tag, c.appendAndWrite(ctx, tag, base, adds, "attestation")
}

// layerAnnotations is a copy of ann, never nil, for a new layer's own
// annotations to be set in without touching the caller's map.
func layerAnnotations(ann map[string]string) map[string]string {
	out := maps.Clone(ann)
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// sha256Digest is the digest of b as a registry names a layer.
func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// appendAndWrite adds the layers to base and writes the image at tag,
// logging how many of what it wrote; no layers (all of them already
// present) writes nothing.
func (c *Client) appendAndWrite(ctx context.Context, tag name.Tag, base v1.Image, adds []mutate.Addendum, what string) error {
	if len(adds) == 0 {
		return nil
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return fmt.Errorf("building %s: %w", tag, err)
	}
	if err := remote.Write(tag, img, c.ropts(ctx)...); err != nil {
		return fmt.Errorf("writing %s: %w", tag, err)
	}
	c.logf("wrote %d %s(s) to %s", len(adds), what, tag)
	return nil
}

// bundle is the JSON form of a sigstore bundle v0.3 holding a DSSE
// envelope and a public key hint, as cosign writes for key-based signing
// without a transparency log. (protojson encodes bytes as standard base64,
// which is also how a DSSE envelope encodes them, so the envelope embeds
// as it is.)
type bundle struct {
	MediaType            string          `json:"mediaType"`
	VerificationMaterial bundleMaterial  `json:"verificationMaterial"`
	DSSEEnvelope         json.RawMessage `json:"dsseEnvelope"`
}

type bundleMaterial struct {
	PublicKey struct {
		Hint string `json:"hint"`
	} `json:"publicKey"`
}

// bundleEnvelope is a DSSE envelope in the protobuf-specs JSON shape
// (keyid omitted when empty).
type bundleEnvelope struct {
	Payload     string        `json:"payload"`
	PayloadType string        `json:"payloadType"`
	Signatures  []bundleSigEx `json:"signatures"`
}

type bundleSigEx struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid,omitempty"`
}

// WriteBundleReferrers stores each attestation as an OCI 1.1 referrer of d
// in the sigstore bundle layout cosign uses with --new-bundle-format: a
// manifest with artifactType application/vnd.dev.sigstore.bundle.v0.3+json,
// an empty config, one bundle layer, subject d, and the
// dev.sigstore.bundle.* annotations. keyHint identifies the public key
// (signing.KeyID). It fails with ErrImageNotFound if d is not in the
// registry.
func (c *Client) WriteBundleReferrers(ctx context.Context, d name.Digest, keyHint string, atts ...Attestation) ([]name.Digest, error) {
	subject, err := c.ImageDescriptor(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []name.Digest
	for i, a := range atts {
		env, _, err := signing.ParseEnvelope(a.Envelope)
		if err != nil {
			return out, fmt.Errorf("attestation %d: %w", i+1, err)
		}
		be := bundleEnvelope{Payload: env.Payload, PayloadType: env.PayloadType}
		for _, s := range env.Signatures {
			be.Signatures = append(be.Signatures, bundleSigEx{Sig: s.Sig, KeyID: s.KeyID})
		}
		envJSON, err := json.Marshal(be)
		if err != nil {
			return out, err
		}
		b := bundle{MediaType: BundleMediaType, DSSEEnvelope: envJSON}
		b.VerificationMaterial.PublicKey.Hint = keyHint
		content, err := json.Marshal(b)
		if err != nil {
			return out, err
		}
		ref, err := c.putReferrer(ctx, d, subject, BundleMediaType, content, nil, map[string]string{
			CreatedAnnotation:             time.Now().UTC().Format(time.RFC3339),
			BundleContentAnnotation:       "dsse-envelope",
			BundlePredicateTypeAnnotation: a.PredicateType,
		})
		if err != nil {
			return out, err
		}
		c.logf("wrote bundle referrer %s (%s)", ref, a.PredicateType)
		out = append(out, ref)
	}
	return out, nil
}

// The empty config of an OCI artifact manifest.
var emptyJSON = []byte("{}")

const emptyMediaType = "application/vnd.oci.empty.v1+json"

// AttachArtifact stores content as an OCI 1.1 referrer of d, the way
// "oras attach --artifact-type TYPE IMAGE FILE:TYPE" does: a manifest with
// that artifactType, an empty config, one layer of that media type
// titled fileName (org.opencontainers.image.title), and subject d. It
// returns the referrer manifest's digest, and fails with ErrImageNotFound
// if d is not in the registry.
func (c *Client) AttachArtifact(ctx context.Context, d name.Digest, artifactType, fileName string, content []byte) (name.Digest, error) {
	subject, err := c.ImageDescriptor(ctx, d)
	if err != nil {
		return name.Digest{}, err
	}
	ref, err := c.putReferrer(ctx, d, subject, artifactType, content,
		map[string]string{"org.opencontainers.image.title": fileName},
		map[string]string{CreatedAnnotation: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return name.Digest{}, err
	}
	c.logf("attached %s %s as %s", artifactType, fileName, ref)
	return ref, nil
}

func (c *Client) putReferrer(ctx context.Context, d name.Digest, subject *v1.Descriptor, mediaType string, content []byte, layerAnn, ann map[string]string) (name.Digest, error) {
	layer := static.NewLayer(content, types.MediaType(mediaType))
	cfg := static.NewLayer(emptyJSON, emptyMediaType)
	for _, l := range []v1.Layer{cfg, layer} {
		if err := remote.WriteLayer(d.Repository, l, c.ropts(ctx)...); err != nil {
			return name.Digest{}, fmt.Errorf("uploading %s blob: %w", mediaType, err)
		}
	}
	cfgDigest, _ := cfg.Digest()
	layerDigest, _ := layer.Digest()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  mediaType,
		Config: v1.Descriptor{
			MediaType: emptyMediaType,
			Digest:    cfgDigest,
			Size:      int64(len(emptyJSON)),
		},
		Layers: []v1.Descriptor{{
			MediaType:   types.MediaType(mediaType),
			Digest:      layerDigest,
			Size:        int64(len(content)),
			Annotations: layerAnn,
		}},
		Subject:     &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: ann,
	}
	ref, err := c.putManifest(ctx, d.Repository, m)
	if err != nil {
		return name.Digest{}, fmt.Errorf("writing referrer manifest: %w", err)
	}
	return ref, nil
}

// putManifest stores m in repo by its digest, byte for byte as marshalled
// here (go-containerregistry would otherwise re-encode it), and returns
// that digest, also when the write fails, for the caller's message.
func (c *Client) putManifest(ctx context.Context, repo name.Repository, m v1.Manifest) (name.Digest, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return name.Digest{}, err
	}
	ref := repo.Digest(h.String())
	return ref, remote.Put(ref, rawManifest{raw: raw, mt: m.MediaType}, c.ropts(ctx)...)
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// EncodeSignature is base64 of a raw signature, as stored in the
// signature annotation.
func EncodeSignature(sig []byte) string { return base64.StdEncoding.EncodeToString(sig) }
