// Package attest signs images and attaches in-toto attestations to them in
// the registry, where cosign, Chains and Conforma users look: a simple
// signing signature under repo:sha256-<hex>.sig and DSSE-wrapped in-toto v1
// statements under repo:sha256-<hex>.att (and, optionally, OCI 1.1 bundle
// referrers). One Run signs and attaches any number of attestations with
// one key, decrypted once by the caller (signing.Load).
//
// Everything is checked before the first write: the reference must name a
// digest the registry has, and each predicate must be JSON that matches
// its type. A failed Run pushes nothing.
package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/signing"
)

// Option configures Run.
type Option func(*options)

type options struct {
	progress  io.Writer
	remote    []remote.Option
	referrers bool
}

// WithProgress receives human progress lines. The default discards them.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithRemoteOptions are passed to every registry call (the default is
// remoteopt's: default keychain, retries).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, opts...) }
}

// WithReferrers also stores each attestation as an OCI 1.1 referrer in the
// sigstore bundle layout. The default writes only the .att tag.
func WithReferrers(on bool) Option { return func(o *options) { o.referrers = on } }

// Request says what to do for one image.
type Request struct {
	// Image is the image to sign and attest; it must be in the registry.
	Image name.Digest
	// Sign adds a simple-signing signature under the .sig tag.
	Sign bool
	// Predicates are attached as attestations under the .att tag, in
	// order.
	Predicates []Predicate
}

// Result says what was written.
type Result struct {
	Image          string   `json:"image"`
	SignatureTag   string   `json:"signatureTag,omitempty"`
	AttestationTag string   `json:"attestationTag,omitempty"`
	PredicateTypes []string `json:"predicateTypes,omitempty"`
	Referrers      []string `json:"referrers,omitempty"`
	KeyID          string   `json:"keyId"`
}

// Run signs and attests req.Image with signer.
func Run(ctx context.Context, signer *signing.Signer, req Request, opts ...Option) (*Result, error) {
	o := options{progress: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	if !req.Sign && len(req.Predicates) == 0 {
		return nil, errors.New("nothing to do: neither a signature nor a predicate was asked for")
	}
	copts := []cosignoci.Option{cosignoci.WithProgress(o.progress)}
	if len(o.remote) > 0 {
		copts = append(copts, cosignoci.WithRemoteOptions(o.remote...))
	}
	c := cosignoci.New(copts...)
	d := req.Image
	res := &Result{Image: d.String(), KeyID: signer.KeyID()}

	// Sign everything first: a signing failure pushes nothing.
	var sig *cosignoci.Signature
	if req.Sign {
		payload, err := cosignoci.SimpleSigningPayload(d)
		if err != nil {
			return nil, fmt.Errorf("simple-signing payload: %w", err)
		}
		raw, err := signer.Sign(ctx, payload)
		if err != nil {
			return nil, err
		}
		sig = &cosignoci.Signature{Payload: payload, Base64Signature: cosignoci.EncodeSignature(raw)}
	}
	var atts []cosignoci.Attestation
	for _, p := range req.Predicates {
		b := p.Statement
		if b == nil {
			var err error
			b, err = json.Marshal(cosignoci.NewStatement(d, p.Type, p.Body))
			if err != nil {
				return nil, fmt.Errorf("statement for %s: %w", p.Source, err)
			}
		} else if st, err := cosignoci.ParseStatement(b); err != nil || !st.HasSubject(d) || st.PredicateType != p.Type {
			return nil, fmt.Errorf("statement from %s is not a %s statement about %s", p.Source, p.Type, d)
		}
		env, err := signer.SignDSSE(ctx, cosignoci.InTotoPayloadType, b)
		if err != nil {
			return nil, err
		}
		atts = append(atts, cosignoci.Attestation{Envelope: env, PredicateType: p.Type})
		res.PredicateTypes = append(res.PredicateTypes, p.Type)
	}

	// The image must be there before anything is written beside it.
	if _, err := c.ImageDescriptor(ctx, d); err != nil {
		return nil, err
	}
	if sig != nil {
		v, err := signer.Verifier()
		if err != nil {
			return nil, err
		}
		tag, err := c.AppendSignatures(ctx, d, v, *sig)
		if err != nil {
			return nil, err
		}
		res.SignatureTag = tag.String()
	}
	if len(atts) > 0 {
		tag, err := c.AppendAttestations(ctx, d, atts...)
		if err != nil {
			return res, err
		}
		res.AttestationTag = tag.String()
		if o.referrers {
			refs, err := c.WriteBundleReferrers(ctx, d, signer.KeyID(), atts...)
			for _, r := range refs {
				res.Referrers = append(res.Referrers, r.String())
			}
			if err != nil {
				return res, err
			}
		}
	}
	return res, nil
}
