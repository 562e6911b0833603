// Package cosignoci reads and writes what sits beside an image
// repo@sha256:<hex> in a registry, in exactly the layout cosign v2 uses:
//
//   - signatures: the tag repo:sha256-<hex>.sig, an OCI image whose layers
//     are simple-signing payloads (media type
//     application/vnd.dev.cosign.simplesigning.v1+json), each layer's
//     descriptor annotated with dev.cosignproject.cosign/signature (the
//     base64 signature over the layer);
//   - attestations: the tag repo:sha256-<hex>.att, an OCI image whose layers
//     are DSSE envelopes (application/vnd.dsse.envelope.v1+json) around
//     in-toto statements, each descriptor annotated with predicateType and an
//     empty dev.cosignproject.cosign/signature, as `cosign attest` writes;
//   - optionally, OCI 1.1 referrers of the image holding a sigstore bundle
//     v0.3 (artifactType application/vnd.dev.sigstore.bundle.v0.3+json), as
//     `cosign attest --new-bundle-format` writes;
//   - SBOMs, twice over one blob: an OCI 1.1 referrer whose artifactType is
//     the document's media type, as ORAS writes artifacts, and the tag
//     repo:sha256-<hex>.sbom, as `cosign attach sbom` writes.
//
// Signature and attestation writers append to what is there (never
// replace), and refuse to write anything beside a digest the registry does
// not have. Readers return the raw payloads with helpers to verify them
// against a public key (Signature.Verify, Attestation.Verify); an SBOM
// read from beside an image is not signed, and is returned as it is.
//
// Every tag suffix and referrer type of this layout is named here and
// nowhere else in trustline: other packages call this one.
//
// The package is silent: progress goes to the io.Writer given with
// WithProgress.
package cosignoci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/trustline-dev/trustline/internal/remoteopt"
)

// Media types, annotations and tag suffixes of cosign's layout.
const (
	SimpleSigningMediaType  = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEMediaType           = "application/vnd.dsse.envelope.v1+json"
	InTotoPayloadType       = "application/vnd.in-toto+json"
	BundleMediaType         = "application/vnd.dev.sigstore.bundle.v0.3+json"
	SignatureAnnotation     = "dev.cosignproject.cosign/signature"
	PredicateTypeAnnotation = "predicateType"
	// Annotations cosign puts on a bundle referrer manifest.
	BundleContentAnnotation       = "dev.sigstore.bundle.content"
	BundlePredicateTypeAnnotation = "dev.sigstore.bundle.predicateType"

	// CreatedAnnotation (OCI pre-defined) dates a referrer: readers take
	// the newest SBOM.
	CreatedAnnotation = "org.opencontainers.image.created"

	SignatureTagSuffix   = ".sig"
	AttestationTagSuffix = ".att"
	SBOMTagSuffix        = ".sbom"
)

// Option configures a Client.
type Option func(*options)

type options struct {
	remote   []remote.Option
	progress io.Writer
}

// WithRemoteOptions are passed to every go-containerregistry call. The
// default is remoteopt.Options(ctx) (default keychain, retries).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, opts...) }
}

// WithProgress receives one human line per registry write. The default
// discards them.
func WithProgress(w io.Writer) Option {
	return func(o *options) { o.progress = w }
}

// Client reads and writes signatures, attestations and SBOMs.
type Client struct {
	o options
}

// New returns a Client.
func New(opts ...Option) *Client {
	c := &Client{o: options{progress: io.Discard}}
	for _, opt := range opts {
		opt(&c.o)
	}
	return c
}

func (c *Client) ropts(ctx context.Context) []remote.Option {
	if len(c.o.remote) > 0 {
		return append([]remote.Option{remote.WithContext(ctx)}, c.o.remote...)
	}
	return remoteopt.Options(ctx)
}

func (c *Client) logf(format string, args ...any) {
	fmt.Fprintf(c.o.progress, format+"\n", args...)
}

// SignatureTag is repo:sha256-<hex>.sig for the image d.
func SignatureTag(d name.Digest) name.Tag { return suffixTag(d, SignatureTagSuffix) }

// AttestationTag is repo:sha256-<hex>.att for the image d.
func AttestationTag(d name.Digest) name.Tag { return suffixTag(d, AttestationTagSuffix) }

// SBOMTag is repo:sha256-<hex>.sbom for the image d.
func SBOMTag(d name.Digest) name.Tag { return suffixTag(d, SBOMTagSuffix) }

func suffixTag(d name.Digest, suffix string) name.Tag {
	// The digest was validated when d was parsed, so the tag is valid.
	return d.Repository.Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
}

// ErrImageNotFound is returned (wrapped) when the image a signature or
// attestation would describe is not in the registry.
var ErrImageNotFound = errors.New("image not found in the registry")

// ImageDescriptor returns the descriptor of the image d, and
// ErrImageNotFound if the registry does not have it.
func (c *Client) ImageDescriptor(ctx context.Context, d name.Digest) (*v1.Descriptor, error) {
	desc, err := remote.Head(d, c.ropts(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%s: %w", d, ErrImageNotFound)
		}
		return nil, fmt.Errorf("looking up %s: %w", d, err)
	}
	if desc.Digest.String() != d.DigestStr() {
		return nil, fmt.Errorf("registry answered %s for %s", desc.Digest, d)
	}
	return desc, nil
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
