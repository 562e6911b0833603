package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// KeyPair is a cosign-compatible key pair in PEM form.
type KeyPair struct {
	// Private is cosign.key: an "ENCRYPTED SIGSTORE PRIVATE KEY" block.
	Private []byte
	// Public is cosign.pub: a "PUBLIC KEY" block.
	Public []byte
}

// Algorithm names a key algorithm for Generate.
type Algorithm string

const (
	// ECDSAP256 is cosign's default key type.
	ECDSAP256 Algorithm = "ecdsa-p256"
	// Ed25519 keys sign with pure Ed25519.
	Ed25519 Algorithm = "ed25519"
)

// Generate makes a new key pair and encrypts its private half with
// password exactly as `cosign generate-key-pair` does (PKCS #8, scrypt and
// NaCl secretbox via go-securesystemslib's encrypted package).
func Generate(alg Algorithm, password []byte) (*KeyPair, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case ECDSAP256, "":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("unknown key algorithm %q (want %s or %s)", alg, ECDSAP256, Ed25519)
	}
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return Encrypt(priv, password)
}

// Encrypt encodes priv as a cosign encrypted private key and its public
// key as PEM.
func Encrypt(priv crypto.Signer, password []byte) (*KeyPair, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, errors.New("encrypting private key failed")
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	return &KeyPair{
		Private: pem.EncodeToMemory(&pem.Block{Type: SigstorePrivateKeyPEMType, Bytes: enc}),
		Public:  pub,
	}, nil
}

// WriteFiles writes cosign.key (mode 0600) and cosign.pub (0644) into dir
// with the given file name prefix ("cosign" gives cosign.key and
// cosign.pub). It refuses to overwrite an existing key, and writes nothing
// if either file exists.
func (kp *KeyPair) WriteFiles(dir, prefix string) (keyPath, pubPath string, err error) {
	if prefix == "" {
		prefix = "cosign"
	}
	keyPath = filepath.Join(dir, prefix+".key")
	pubPath = filepath.Join(dir, prefix+".pub")
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return "", "", fmt.Errorf("%s already exists; refusing to overwrite a key", p)
		}
	}
	if err := writeNew(keyPath, kp.Private, 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, kp.Public, 0o644); err != nil {
		os.Remove(keyPath)
		return "", "", err
	}
	return keyPath, pubPath, nil
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
