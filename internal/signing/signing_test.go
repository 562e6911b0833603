package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPassword = "correct horse battery staple"

func TestGenerateLoadSignVerify(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []Algorithm{ECDSAP256, Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			kp, err := Generate(alg, []byte(testPassword))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(kp.Private), "-----BEGIN "+SigstorePrivateKeyPEMType+"-----") {
				t.Fatalf("private key PEM header: %.60s", kp.Private)
			}
			dir := t.TempDir()
			keyPath, pubPath, err := kp.WriteFiles(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
				t.Errorf("cosign.key mode %v, want 0600", fi.Mode().Perm())
			}
			if _, _, err := kp.WriteFiles(dir, ""); err == nil {
				t.Fatal("WriteFiles overwrote an existing key")
			}
			s, err := Load(keyPath, WithPassword([]byte(testPassword)))
			if err != nil {
				t.Fatal(err)
			}
			v, err := LoadPublicKey(pubPath)
			if err != nil {
				t.Fatal(err)
			}
			if v.KeyID() != s.KeyID() {
				t.Fatalf("key IDs differ: %s vs %s", v.KeyID(), s.KeyID())
			}
			payload := []byte(`{"hello":"world"}`)
			sig, err := s.Sign(ctx, payload)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(ctx, payload, sig); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if err := v.Verify(ctx, []byte(`{"hello":"mars"}`), sig); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("tampered payload verified: %v", err)
			}
			env, err := s.SignDSSE(ctx, "application/vnd.in-toto+json", payload)
			if err != nil {
				t.Fatal(err)
			}
			pt, got, err := v.VerifyDSSE(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if pt != "application/vnd.in-toto+json" || string(got) != string(payload) {
				t.Fatalf("VerifyDSSE = %q, %q", pt, got)
			}
			// Changing the payload type must break the signature (PAE
			// covers it).
			var m map[string]any
			json.Unmarshal(env, &m)
			m["payloadType"] = "text/plain"
			bad, _ := json.Marshal(m)
			if _, _, err := v.VerifyDSSE(ctx, bad); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("envelope with changed payloadType verified: %v", err)
			}
			// Another key must not verify.
			other, _ := Generate(alg, nil)
			ov, _ := ParsePublicKey(other.Public)
			if _, _, err := ov.VerifyDSSE(ctx, env); err == nil {
				t.Fatal("envelope verified with another key")
			}
		})
	}
}

func TestWrongPasswordNeverLeaks(t *testing.T) {
	kp, err := Generate(ECDSAP256, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cosign.key")
	os.WriteFile(path, kp.Private, 0o600)
	wrong := "hunter2-not-it"
	_, err = Load(path, WithPassword([]byte(wrong)))
	if !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("err = %v, want ErrWrongPassword", err)
	}
	msg := err.Error()
	for _, secret := range []string{wrong, testPassword, string(kp.Private[40:80])} {
		if strings.Contains(msg, secret) {
			t.Fatalf("error leaks secret material: %s", msg)
		}
	}
	if !strings.Contains(msg, path) {
		t.Fatalf("error does not name the file: %s", msg)
	}
	// No password at all is the empty password, also wrong here.
	if _, err := Load(path); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("no password: %v", err)
	}
}

func TestSecretDirectory(t *testing.T) {
	kp, err := Generate(ECDSAP256, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, SecretKeyFile), kp.Private, 0o600)
	os.WriteFile(filepath.Join(dir, SecretPublicFile), kp.Public, 0o644)
	// Hand-made secrets often end in a newline.
	os.WriteFile(filepath.Join(dir, SecretPasswordFile), []byte(testPassword+"\n"), 0o600)
	// The password file wins over the option, as in Chains.
	s, err := Load(dir, WithPassword([]byte("from-env")))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyID() != s.KeyID() {
		t.Fatal("secret dir public key does not match private key")
	}
	// A directory without cosign.key names the missing file.
	empty := t.TempDir()
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), filepath.Join(empty, SecretKeyFile)) {
		t.Fatalf("empty secret dir: %v", err)
	}
}

func TestPlainPEMKeys(t *testing.T) {
	ctx := context.Background()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	pk8ec, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pk8ed, _ := x509.MarshalPKCS8PrivateKey(ed)
	for name, block := range map[string]*pem.Block{
		"pkcs8-ecdsa":   {Type: "PRIVATE KEY", Bytes: pk8ec},
		"sec1-ecdsa":    {Type: "EC PRIVATE KEY", Bytes: sec1},
		"pkcs8-ed25519": {Type: "PRIVATE KEY", Bytes: pk8ed},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(pem.EncodeToMemory(block))
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.Verifier()
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := s.Sign(ctx, []byte("x"))
			if err := v.Verify(ctx, []byte("x"), sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRejectedKeys(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rder, _ := x509.MarshalPKCS8PrivateKey(rk)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p224der, _ := x509.MarshalECPrivateKey(p224)
	kp, _ := Generate(ECDSAP256, nil)
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"not pem":    {[]byte("hello"), "no PEM block"},
		"rsa":        {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rder}), "unsupported private key type"},
		"p224":       {pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p224der}), "unsupported ECDSA curve"},
		"public":     {kp.Public, "public key"},
		"garbage":    {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("nope")}), "not a valid PKCS #8"},
		"other type": {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), "unsupported PEM block type"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      "nope",
		"no type":       `{"payload":"e30=","signatures":[{"sig":"AA=="}]}`,
		"bad payload":   `{"payloadType":"x","payload":"!!","signatures":[{"sig":"AA=="}]}`,
		"no signatures": `{"payloadType":"x","payload":"e30=","signatures":[]}`,
		"trailing":      `{"payloadType":"x","payload":"e30=","signatures":[{"sig":"AA=="}]} {}`,
	} {
		if _, _, err := ParseEnvelope([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkParseEncrypted is the cost the attest step pays once per call
// and cosign once per invocation: scrypt over the password.
func BenchmarkParseEncrypted(b *testing.B) {
	kp, err := Generate(ECDSAP256, []byte(testPassword))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(kp.Private, WithPassword([]byte(testPassword))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignDSSE(b *testing.B) {
	kp, _ := Generate(ECDSAP256, nil)
	s, _ := Parse(kp.Private)
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}}`)
	for b.Loop() {
		if _, err := s.SignDSSE(context.Background(), "application/vnd.in-toto+json", payload); err != nil {
			b.Fatal(err)
		}
	}
}
