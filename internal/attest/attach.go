package attest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/signing"
)

// signature is the simple-signing signature of d, as cosign sign makes
// it.
func signature(ctx context.Context, signer *signing.Signer, d name.Digest) (*cosignoci.Signature, error) {
	payload, err := cosignoci.SimpleSigningPayload(d)
	if err != nil {
		return nil, fmt.Errorf("simple-signing payload: %w", err)
	}
	raw, err := signer.Sign(ctx, payload)
	if err != nil {
		return nil, err
	}
	return &cosignoci.Signature{Payload: payload, Base64Signature: cosignoci.EncodeSignature(raw)}, nil
}

// envelope signs an in-toto statement as a DSSE attestation of
// predicateType.
func envelope(ctx context.Context, signer *signing.Signer, statement []byte, predicateType string) (cosignoci.Attestation, error) {
	env, err := signer.SignDSSE(ctx, cosignoci.InTotoPayloadType, statement)
	if err != nil {
		return cosignoci.Attestation{}, err
	}
	return cosignoci.Attestation{Envelope: env, PredicateType: predicateType}, nil
}

// attach writes what was signed beside d: sig (when not nil) to its .sig,
// then atts to its .att, and as OCI referrers when asked. res gets each
// tag as it is written, so that after a failure it says what is there.
func attach(ctx context.Context, o options, signer *signing.Signer, d name.Digest, sig *cosignoci.Signature, atts []cosignoci.Attestation, res *Result) error {
	if sig != nil {
		v, err := signer.Verifier()
		if err != nil {
			return err
		}
		tag, err := o.client.AppendSignatures(ctx, d, v, *sig)
		if err != nil {
			return err
		}
		res.SignatureTag = tag.String()
	}
	if len(atts) == 0 {
		return nil
	}
	tag, err := o.client.AppendAttestations(ctx, d, atts...)
	if err != nil {
		return err
	}
	res.AttestationTag = tag.String()
	if !o.referrers {
		return nil
	}
	refs, err := o.client.WriteBundleReferrers(ctx, d, signer.KeyID(), atts...)
	for _, r := range refs {
		res.Referrers = append(res.Referrers, r.String())
	}
	return err
}
