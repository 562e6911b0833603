// Package signingtest gives tests a signing key the way a user gets one:
// generated as cosign's encrypted key pair, then loaded back with its
// password, so every test signs through the real parsing path.
package signingtest

import (
	"testing"

	"github.com/trustline-dev/trustline/internal/signing"
)

// Password is the password NewSigner's key pair is encrypted with.
const Password = "test-password"

// NewSigner returns a fresh ECDSA P-256 signer; its Verifier checks what
// it signs.
func NewSigner(t testing.TB) *signing.Signer {
	t.Helper()
	kp, err := signing.Generate(signing.ECDSAP256, []byte(Password))
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.Parse(kp.Private, signing.WithPassword([]byte(Password)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// NewKeyPair returns a fresh signer and the verifier of what it signs.
func NewKeyPair(t testing.TB) (*signing.Signer, *signing.Verifier) {
	t.Helper()
	s := NewSigner(t)
	v, err := s.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}
