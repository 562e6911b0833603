package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/trustline-dev/trustline/internal/jsondoc"
)

// Verifier checks signatures made by one public key.
type Verifier struct {
	pub   crypto.PublicKey
	keyID string
	vs    []signature.Verifier
}

// LoadPublicKey reads a "PUBLIC KEY" PEM file (cosign.pub), or a Chains
// signing-secrets directory holding cosign.pub.
func LoadPublicKey(path string) (*Verifier, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	if fi.IsDir() {
		path = filepath.Join(path, SecretPublicFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	v, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return v, nil
}

// ParsePublicKey reads a PEM public key (ECDSA or Ed25519).
func ParsePublicKey(pemBytes []byte) (*Verifier, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block type %q is not PUBLIC KEY", block.Type)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem.EncodeToMemory(block))
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	return NewVerifier(pub)
}

// NewVerifier returns a Verifier for pub.
func NewVerifier(pub crypto.PublicKey) (*Verifier, error) {
	v := &Verifier{pub: pub}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if err := checkCurve(k.Curve); err != nil {
			return nil, err
		}
		ev, err := signature.LoadECDSAVerifier(k, hashFor(k.Curve))
		if err != nil {
			return nil, err
		}
		v.vs = append(v.vs, ev)
	case ed25519.PublicKey:
		pv, err := signature.LoadED25519Verifier(k)
		if err != nil {
			return nil, err
		}
		// cosign signs with Ed25519ph by default for Ed25519 keys, so a
		// signature made by cosign may be either flavour.
		phv, err := signature.LoadED25519phVerifier(k)
		if err != nil {
			return nil, err
		}
		v.vs = append(v.vs, pv, phv)
	default:
		return nil, fmt.Errorf("unsupported public key type %T (want ECDSA or Ed25519)", pub)
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	v.keyID = id
	return v, nil
}

// Verifier returns a Verifier for the signer's own public key.
func (s *Signer) Verifier() (*Verifier, error) { return NewVerifier(s.pub) }

// PublicKey returns the verifier's public key.
func (v *Verifier) PublicKey() crypto.PublicKey { return v.pub }

// KeyID returns the public key's identifier (see KeyID).
func (v *Verifier) KeyID() string { return v.keyID }

// ErrBadSignature is returned (wrapped) when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify with the public key")

// Verify checks a raw signature over payload.
func (v *Verifier) Verify(ctx context.Context, payload, sig []byte) error {
	for _, sv := range v.vs {
		if err := sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload), options.WithContext(ctx)); err == nil {
			return nil
		}
	}
	return ErrBadSignature
}

// VerifyBase64 checks a base64-encoded signature, as stored in cosign's
// signature annotation.
func (v *Verifier) VerifyBase64(ctx context.Context, payload []byte, b64sig string) error {
	sig, err := base64.StdEncoding.DecodeString(b64sig)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	return v.Verify(ctx, payload, sig)
}

// ParseEnvelope reads a DSSE envelope from JSON and checks its shape (a
// payload type, a base64 payload, at least one signature). It does not
// verify signatures.
func ParseEnvelope(b []byte) (*dsse.Envelope, []byte, error) {
	var env dsse.Envelope
	if err := jsondoc.Decode(b, &env); err != nil {
		return nil, nil, fmt.Errorf("DSSE envelope is not JSON: %w", err)
	}
	if env.PayloadType == "" {
		return nil, nil, errors.New("DSSE envelope: payloadType is empty")
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, nil, fmt.Errorf("DSSE envelope: payload: %w", err)
	}
	if len(env.Signatures) == 0 {
		return nil, nil, errors.New("DSSE envelope: no signatures")
	}
	return &env, payload, nil
}

// VerifyDSSE checks that at least one signature of the DSSE envelope in b
// was made by v's key, and returns the envelope's payload type and payload.
func (v *Verifier) VerifyDSSE(ctx context.Context, b []byte) (payloadType string, payload []byte, err error) {
	env, payload, err := ParseEnvelope(b)
	if err != nil {
		return "", nil, err
	}
	pae := dsse.PAE(env.PayloadType, payload)
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			// DSSE allows URL-safe base64 too.
			if sig, err = base64.URLEncoding.DecodeString(s.Sig); err != nil {
				continue
			}
		}
		if v.Verify(ctx, pae, sig) == nil {
			return env.PayloadType, payload, nil
		}
	}
	return "", nil, fmt.Errorf("DSSE envelope: %w", ErrBadSignature)
}
