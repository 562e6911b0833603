// Package attest signs images and attaches in-toto attestations to them in
// the registry, where cosign, Chains and Conforma users look: a simple
// signing signature under repo:sha256-<hex>.sig and DSSE-wrapped in-toto v1
// statements under repo:sha256-<hex>.att (and, optionally, OCI 1.1 bundle
// referrers). One Run signs and attaches any number of attestations with
// one key, decrypted once by the caller (signing.Load); Provenance does
// the same for a run's provenance, as Tekton Chains (and trustline run)
// attach it to every image the run built.
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

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/signing"
)

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

// Run signs and attests req.Image with signer. After a failed write the
// Result says what was written.
func Run(ctx context.Context, signer *signing.Signer, req Request, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if !req.Sign && len(req.Predicates) == 0 {
		return nil, errors.New("nothing to do: neither a signature nor a predicate was asked for")
	}
	d := req.Image
	res := &Result{Image: d.String(), KeyID: signer.KeyID()}

	// Sign everything first: a signing failure pushes nothing.
	var sig *cosignoci.Signature
	if req.Sign {
		if sig, err = signature(ctx, signer, d); err != nil {
			return nil, err
		}
	}
	var atts []cosignoci.Attestation
	for _, p := range req.Predicates {
		b, err := statement(d, p)
		if err != nil {
			return nil, err
		}
		att, err := envelope(ctx, signer, b, p.Type)
		if err != nil {
			return nil, err
		}
		atts = append(atts, att)
		res.PredicateTypes = append(res.PredicateTypes, p.Type)
	}

	// The image must be there before anything is written beside it.
	if _, err := o.client.ImageDescriptor(ctx, d); err != nil {
		return nil, err
	}
	return res, attach(ctx, o, signer, d, sig, atts, res)
}

// statement is the in-toto statement to sign for p about d: the one p
// carries, checked, or one made from its type and body.
func statement(d name.Digest, p Predicate) ([]byte, error) {
	if p.Statement == nil {
		b, err := json.Marshal(cosignoci.NewStatement(d, p.Type, p.Body))
		if err != nil {
			return nil, fmt.Errorf("statement for %s: %w", p.Source, err)
		}
		return b, nil
	}
	if st, err := cosignoci.ParseStatement(p.Statement); err != nil || !st.HasSubject(d) || st.PredicateType != p.Type {
		return nil, fmt.Errorf("statement from %s is not a %s statement about %s", p.Source, p.Type, d)
	}
	return p.Statement, nil
}
