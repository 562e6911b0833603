// Package signing loads and makes the keys trustline signs with, and signs
// with them: raw signatures over a payload (cosign's simple signing) and
// DSSE envelopes (in-toto attestations). Keys come in three shapes, all
// accepted by Load: cosign's encrypted key ("ENCRYPTED SIGSTORE PRIVATE
// KEY" or "ENCRYPTED COSIGN PRIVATE KEY": scrypt and NaCl secretbox over
// PKCS #8), a plain PEM ECDSA or Ed25519 key, and a Kubernetes secret
// mounted as a directory in Tekton Chains' signing-secrets layout
// (cosign.key, cosign.password, cosign.pub).
//
// Signing goes through sigstore's signature package and
// go-securesystemslib's DSSE, the same code paths cosign uses, so what is
// signed here verifies with `cosign verify --key`.
//
// Key material and passwords never appear in an error or a log line: errors
// name the file and what was wrong with it, never its content.
package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// PEM block types of cosign's encrypted private keys. cosign 2.x writes the
// SIGSTORE one and still reads the COSIGN one.
const (
	SigstorePrivateKeyPEMType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	CosignPrivateKeyPEMType   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// File names inside a Chains signing-secrets directory.
const (
	SecretKeyFile      = "cosign.key"
	SecretPasswordFile = "cosign.password"
	SecretPublicFile   = "cosign.pub"
)

// ErrWrongPassword is returned (wrapped) when an encrypted key does not
// decrypt with the password given.
var ErrWrongPassword = errors.New("wrong password for encrypted key (or the key file is corrupt)")

// Option configures Load and Parse.
type Option func(*options_)

type options_ struct {
	password    []byte
	hasPassword bool
}

// WithPassword is the password of a cosign encrypted key. main maps
// COSIGN_PASSWORD to it. A cosign.password file in a secret directory takes
// precedence, as in Chains. The default is the empty password, which is
// what cosign uses when COSIGN_PASSWORD is set but empty.
func WithPassword(p []byte) Option {
	return func(o *options_) {
		o.password = append([]byte(nil), p...)
		o.hasPassword = true
	}
}

// Signer signs payloads with one private key. It is safe for concurrent use.
type Signer struct {
	sv    signature.SignerVerifier
	pub   crypto.PublicKey
	keyID string
}

// Load reads a private key from path: a PEM file (cosign encrypted or
// plain), or a directory in Chains' signing-secrets layout holding
// cosign.key and, optionally, cosign.password.
func Load(path string, opts ...Option) (*Signer, error) {
	o := options_{}
	for _, opt := range opts {
		opt(&o)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	keyPath := path
	if fi.IsDir() {
		keyPath = filepath.Join(path, SecretKeyFile)
		pw, err := os.ReadFile(filepath.Join(path, SecretPasswordFile))
		switch {
		case err == nil:
			// Kubernetes secrets written with `kubectl create secret
			// --from-literal` have no newline, but files made by hand often
			// do; a password never ends in a newline on purpose.
			o.password = bytes.TrimRight(pw, "\r\n")
			o.hasPassword = true
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, fmt.Errorf("signing secret %s: %w", filepath.Join(path, SecretPasswordFile), err)
		}
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", keyPath, err)
	}
	var popts []Option
	if o.hasPassword {
		popts = append(popts, WithPassword(o.password))
	}
	s, err := Parse(b, popts...)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", keyPath, err)
	}
	return s, nil
}

// Parse reads a PEM private key: cosign's encrypted format, PKCS #8
// ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). Only ECDSA (P-256, P-384,
// P-521) and Ed25519 keys are accepted.
func Parse(pemBytes []byte, opts ...Option) (*Signer, error) {
	o := options_{}
	for _, opt := range opts {
		opt(&o)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var priv crypto.PrivateKey
	var err error
	switch block.Type {
	case SigstorePrivateKeyPEMType, CosignPrivateKeyPEMType:
		der, derr := encrypted.Decrypt(block.Bytes, o.password)
		if derr != nil {
			// The securesystemslib error says nothing secret, but the
			// ciphertext-level detail does not help the user either.
			return nil, fmt.Errorf("decrypting %s: %w", block.Type, ErrWrongPassword)
		}
		priv, err = x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("decrypted %s is not a PKCS #8 key", block.Type)
		}
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PEM block PRIVATE KEY is not a valid PKCS #8 key")
		}
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PEM block EC PRIVATE KEY is not a valid SEC 1 key")
		}
	case "PUBLIC KEY":
		return nil, errors.New("this is a public key; signing needs the private key (cosign.key)")
	default:
		return nil, fmt.Errorf("unsupported PEM block type %q (want %q, PRIVATE KEY or EC PRIVATE KEY)", block.Type, SigstorePrivateKeyPEMType)
	}
	return newSigner(priv)
}

func newSigner(priv crypto.PrivateKey) (*Signer, error) {
	var sv signature.SignerVerifier
	var err error
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if err := checkCurve(k.Curve); err != nil {
			return nil, err
		}
		sv, err = signature.LoadECDSASignerVerifier(k, hashFor(k.Curve))
	case ed25519.PrivateKey:
		// Pure Ed25519: `cosign verify --key` loads an Ed25519 public key
		// as a pure Ed25519 verifier.
		sv, err = signature.LoadED25519SignerVerifier(k)
	default:
		return nil, fmt.Errorf("unsupported private key type %T (want ECDSA or Ed25519)", priv)
	}
	if err != nil {
		return nil, fmt.Errorf("loading signer: %w", err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, pub: pub, keyID: id}, nil
}

func checkCurve(c elliptic.Curve) error {
	switch c {
	case elliptic.P256(), elliptic.P384(), elliptic.P521():
		return nil
	}
	return fmt.Errorf("unsupported ECDSA curve %s (want P-256, P-384 or P-521)", c.Params().Name)
}

// hashFor is the hash sigstore pairs with each curve.
func hashFor(c elliptic.Curve) crypto.Hash {
	switch c {
	case elliptic.P384():
		return crypto.SHA384
	case elliptic.P521():
		return crypto.SHA512
	}
	return crypto.SHA256
}

// KeyID is the identifier of a public key: the standard base64 of SHA-256
// over its PKIX DER form, the "hint" sigstore bundles use for a public key.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("marshalling public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// PublicKey returns the signer's public key.
func (s *Signer) PublicKey() crypto.PublicKey { return s.pub }

// KeyID returns the public key's identifier (see KeyID).
func (s *Signer) KeyID() string { return s.keyID }

// PublicKeyPEM returns the public key as a "PUBLIC KEY" PEM block, the
// format of cosign.pub.
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	return cryptoutils.MarshalPublicKeyToPEM(s.pub)
}

// Sign returns the raw signature over payload (ASN.1 DER for ECDSA), as
// cosign stores it base64-encoded in the dev.cosignproject.cosign/signature
// annotation.
func (s *Signer) Sign(ctx context.Context, payload []byte) ([]byte, error) {
	sig, err := s.sv.SignMessage(bytes.NewReader(payload), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// dsseSigner adapts Signer to go-securesystemslib's dsse.Signer. The key ID
// in the envelope is left empty, as cosign leaves it: verifiers select the
// key themselves.
type dsseSigner struct{ s *Signer }

func (d dsseSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return d.s.Sign(ctx, data)
}
func (d dsseSigner) KeyID() (string, error) { return "", nil }

// SignDSSE wraps payload in a DSSE envelope of payloadType signed by s and
// returns the envelope's JSON.
func (s *Signer) SignDSSE(ctx context.Context, payloadType string, payload []byte) ([]byte, error) {
	es, err := dsse.NewEnvelopeSigner(dsseSigner{s})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(ctx, payloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("signing DSSE envelope: %w", err)
	}
	return json.Marshal(env)
}
