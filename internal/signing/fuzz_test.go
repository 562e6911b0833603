package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary PEM-ish input and passwords to the private key
// parser: it must never panic, and an error must never echo the password.
func FuzzParse(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "pw")
	f.Add([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), "pw")
	f.Add([]byte(`-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjoyLCJyIjoxLCJw
IjoxfSwic2FsdCI6IkFBQUEifSwiY2lwaGVyIjp7Im5hbWUiOiJuYWNsL3NlY3Jl
dGJveCIsIm5vbmNlIjoiQUFBQSJ9LCJjaXBoZXJ0ZXh0IjoiQUFBQSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----
`), "secret-pw")
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), "")
	f.Fuzz(func(t *testing.T, in []byte, pw string) {
		_, err := Parse(in, WithPassword([]byte(pw)))
		if err != nil && len(pw) >= 6 && strings.Contains(err.Error(), pw) {
			t.Fatalf("error echoes the password: %v", err)
		}
	})
}

// FuzzParsePublicKey must never panic.
func FuzzParsePublicKey(f *testing.F) {
	kp, _ := Generate(ECDSAP256, nil)
	f.Add(kp.Public)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ParsePublicKey(in)
	})
}

// FuzzVerifyDSSE feeds arbitrary envelopes to the verifier: no panic, and
// nothing verifies that the key did not sign.
func FuzzVerifyDSSE(f *testing.F) {
	s, err := Parse(func() []byte {
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(ec)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}())
	if err != nil {
		f.Fatal(err)
	}
	v, _ := s.Verifier()
	good, _ := s.SignDSSE(context.Background(), "application/vnd.in-toto+json", []byte(`{"_type":"x"}`))
	f.Add(good)
	f.Add([]byte(`{"payloadType":"x","payload":"e30=","signatures":[{"sig":"AA=="}]}`))
	f.Add([]byte(`{"payloadType":"x","payload":"e30-_w","signatures":[{"sig":"AA-_"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		pt, payload, err := v.VerifyDSSE(context.Background(), in)
		if err == nil && (pt != "application/vnd.in-toto+json" || string(payload) != `{"_type":"x"}`) {
			t.Fatalf("forged envelope verified: %q %q", pt, payload)
		}
	})
}
