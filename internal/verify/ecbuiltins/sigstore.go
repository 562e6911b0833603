package ecbuiltins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/jsondoc"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/signing"
)

// Names of the sigstore built-ins.
const (
	SigstoreVerifyImage       = "ec.sigstore.verify_image"
	SigstoreVerifyAttestation = "ec.sigstore.verify_attestation"
)

// Keys of the options object, as Conforma names them.
const (
	optIgnoreRekor = "ignore_rekor"
	optPublicKey   = "public_key"
)

// keylessOpts are Conforma's keyless (Fulcio certificate) options, which
// trustline does not verify.
var keylessOpts = []string{"certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "certificate_oidc_issuer_regexp"}

func signatureType() types.Type {
	return types.NewObject([]*types.StaticProperty{
		types.NewStaticProperty("keyid", types.S), types.NewStaticProperty("signature", types.S),
		types.NewStaticProperty("certificate", types.S), types.NewStaticProperty("chain", types.NewArray(nil, types.S)),
		types.NewStaticProperty("metadata", types.NewObject(nil, types.NewDynamicProperty(types.S, types.S))),
	}, nil)
}

func (s *Set) sigstoreFunctions() []function {
	ref := types.Named("ref", types.S).Description("OCI image reference")
	// ignore_rekor is static, hence required, in Conforma's declaration;
	// every other option is an optional string.
	opts := types.Named("opts", types.NewObject(
		[]*types.StaticProperty{types.NewStaticProperty(optIgnoreRekor, types.B)},
		types.NewDynamicProperty(types.S, types.S))).Description("Sigstore verification options")
	errs := types.NewStaticProperty("errors", types.NewArray(nil, types.S))
	success := types.NewStaticProperty("success", types.B)
	sigs := types.NewArray(nil, signatureType())
	imageResult := types.NewObject([]*types.StaticProperty{success, errs, types.NewStaticProperty("signatures", sigs)}, nil)
	att := types.NewObject([]*types.StaticProperty{types.NewStaticProperty("statement", types.A), types.NewStaticProperty("signatures", sigs)}, nil)
	attResult := types.NewObject([]*types.StaticProperty{success, errs, types.NewStaticProperty("attestations", types.NewArray(nil, att))}, nil)
	return []function{
		{decl: decl(SigstoreVerifyImage, "Use sigstore to verify the signature of an image.", types.Args(ref, opts), types.Named("result", imageResult)), impl2: s.verifyImage},
		{decl: decl(SigstoreVerifyAttestation, "Use sigstore to verify the attestation of an image.", types.Args(ref, opts), types.Named("result", attResult)), impl2: s.verifyAttestation},
	}
}

// verifyImage checks the image's cosign signatures with the public key
// in opts. It always has a value: a failure is success false and an
// error message, so rules can report it.
func (s *Set) verifyImage(bctx rego.BuiltinContext, a, b *ast.Term) (*ast.Term, error) {
	return cached(bctx.Context, SigstoreVerifyImage+"|"+a.String()+"|"+b.String(), func() (*ast.Term, error) {
		sigs, err := s.sigstoreCall(bctx.Context, a, b, imageSignatures)
		return result("signatures", sigs, err)
	})
}

// verifyAttestation returns the attestations of the image whose
// signature verifies with the public key and whose subject is the image.
func (s *Set) verifyAttestation(bctx rego.BuiltinContext, a, b *ast.Term) (*ast.Term, error) {
	return cached(bctx.Context, SigstoreVerifyAttestation+"|"+a.String()+"|"+b.String(), func() (*ast.Term, error) {
		atts, err := s.sigstoreCall(bctx.Context, a, b, attestations)
		return result("attestations", atts, err)
	})
}

func result(key string, items []any, err error) (*ast.Term, error) {
	errs := []any{}
	if err != nil {
		errs = append(errs, err.Error())
	}
	if items == nil {
		items = []any{}
	}
	return toTerm(map[string]any{"success": err == nil, "errors": errs, key: items})
}

// prepare reads the reference and options of a sigstore call.
func (s *Set) prepare(a, b *ast.Term) (name.Digest, *signing.Verifier, error) {
	ref, err := refOperand(a)
	if err != nil {
		return name.Digest{}, nil, err
	}
	d, err := remoteopt.ParseDigest(ref, s.o.insecure)
	if err != nil {
		return name.Digest{}, nil, refError(ref, err)
	}
	key, err := verifierFromOpts(b)
	if err != nil {
		return name.Digest{}, nil, refError(ref, err)
	}
	return d, key, nil
}

// verifierFromOpts returns the verifier of opts.public_key. Trustline
// verifies with keys only: keyless options, or a transparency log check
// (ignore_rekor false), are refused with an error saying so rather than
// passed without the check they ask for.
func verifierFromOpts(t *ast.Term) (*signing.Verifier, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, errors.New("opts must be an object")
	}
	for _, k := range keylessOpts {
		if v := obj.Get(ast.StringTerm(k)); v != nil && v.Value.Compare(ast.String("")) != 0 {
			return nil, fmt.Errorf("opts.%s: keyless verification is not supported; give opts.public_key", k)
		}
	}
	if ir := obj.Get(ast.StringTerm(optIgnoreRekor)); ir == nil || ir.Value.Compare(ast.Boolean(true)) != 0 {
		return nil, errors.New("opts.ignore_rekor must be true: transparency log verification is not supported")
	}
	var pem ast.String
	if pk := obj.Get(ast.StringTerm(optPublicKey)); pk != nil {
		pem, _ = pk.Value.(ast.String)
	}
	if pem == "" {
		return nil, errors.New("opts.public_key (a PEM public key) is required")
	}
	return signing.ParsePublicKey([]byte(pem))
}

// sigstoreCall reads the reference and options of a sigstore call and
// hands check a client whose registry calls are bounded by the call
// timeout.
func (s *Set) sigstoreCall(ctx context.Context, a, b *ast.Term,
	check func(context.Context, *cosignoci.Client, name.Digest, *signing.Verifier) ([]any, error)) ([]any, error) {
	d, key, err := s.prepare(a, b)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	return check(ctx, cosignoci.New(cosignoci.WithRemoteOptions(s.remoteOptions(ctx)...)), d, key)
}

func imageSignatures(ctx context.Context, client *cosignoci.Client, d name.Digest, key *signing.Verifier) ([]any, error) {
	// An image with sigstore bundle referrers is verified through them
	// only, as Conforma does: a bundle's attestation about the image is
	// its signature.
	bundles, err := bundleAttestations(ctx, client, d)
	if err != nil {
		return nil, refError(d.String(), err)
	}
	if len(bundles) > 0 {
		return verifiedAttestations(ctx, key, d, bundles, func(att cosignoci.Attestation, _ *cosignoci.Statement) (any, error) {
			return envelopeSignatures(att.Envelope)[0], nil
		}, "signatures")
	}
	sigs, err := client.Signatures(ctx, d)
	if err != nil {
		return nil, refError(d.String(), err)
	}
	var out []any
	last := errors.New("no signatures found")
	for _, sig := range sigs {
		if _, err := sig.Verify(ctx, key, d); err != nil {
			last = err
			continue
		}
		// Conforma takes the key id from a certificate: a key-based
		// image signature has none.
		out = append(out, signatureObject("", sig.Base64Signature))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no matching signatures for %s: %w", d, last)
	}
	return out, nil
}

func attestations(ctx context.Context, client *cosignoci.Client, d name.Digest, key *signing.Verifier) ([]any, error) {
	atts, err := client.Attestations(ctx, d, cosignoci.WithReferrers())
	if err != nil {
		return nil, refError(d.String(), err)
	}
	return verifiedAttestations(ctx, key, d, atts, func(att cosignoci.Attestation, st *cosignoci.Statement) (any, error) {
		return attestationObject(st, att.Envelope)
	}, "attestations")
}

// bundleAttestations are the attestations of d read from sigstore bundle
// referrers.
func bundleAttestations(ctx context.Context, client *cosignoci.Client, d name.Digest) ([]cosignoci.Attestation, error) {
	atts, err := client.Attestations(ctx, d, cosignoci.WithReferrers())
	if err != nil {
		return nil, err
	}
	var out []cosignoci.Attestation
	for _, a := range atts {
		if a.Source == cosignoci.SourceReferrer {
			out = append(out, a)
		}
	}
	return out, nil
}

// verifiedAttestations keeps the attestations the key verifies for d,
// each turned into an answer by item; none is an error saying why the
// last one failed, as cosign reports "no matching attestations".
func verifiedAttestations(ctx context.Context, key *signing.Verifier, d name.Digest, atts []cosignoci.Attestation,
	item func(cosignoci.Attestation, *cosignoci.Statement) (any, error), what string) ([]any, error) {
	var out []any
	last := errors.New("no attestations found")
	for _, att := range atts {
		st, err := att.Verify(ctx, key, d)
		if err != nil {
			last = err
			continue
		}
		v, err := item(att, st)
		if err != nil {
			return nil, refError(d.String(), err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no matching %s for %s: %w", what, d, last)
	}
	return out, nil
}

// attestationObject is {statement, signatures}, the signatures being the
// envelope's.
func attestationObject(st *cosignoci.Statement, envelope []byte) (map[string]any, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var stmt any
	if err := jsondoc.Exact(b, &stmt); err != nil {
		return nil, err
	}
	return map[string]any{"statement": stmt, "signatures": envelopeSignatures(envelope)}, nil
}

// envelopeSignatures are a verified DSSE envelope's signatures with the
// key ids the envelope gives them, as Conforma reports a key-based
// attestation's; at least one (the envelope verified, so it has one).
func envelopeSignatures(envelope []byte) []any {
	var sigs []any
	if env, _, err := signing.ParseEnvelope(envelope); err == nil {
		for _, sg := range env.Signatures {
			sigs = append(sigs, signatureObject(sg.KeyID, sg.Sig))
		}
	}
	if sigs == nil {
		sigs = []any{signatureObject("", "")}
	}
	return sigs
}

// signatureObject is Conforma's signature shape; a key-based signature
// has no certificate, chain or certificate metadata.
func signatureObject(keyID, sig string) map[string]any {
	return map[string]any{"keyid": keyID, "signature": sig, "certificate": "", "chain": []any{}, "metadata": map[string]any{}}
}
