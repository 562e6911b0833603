package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func TestKeyGenerate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("COSIGN_PASSWORD", "pw-for-test")
	var stderr bytes.Buffer
	if code := stepcli.Run(newApp(), []string{"trustline", "key", "generate", "--dir", dir}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	s, err := signing.Load(filepath.Join(dir, "cosign.key"), signing.WithPassword([]byte("pw-for-test")))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.LoadPublicKey(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != v.KeyID() {
		t.Fatal("cosign.pub does not belong to cosign.key")
	}
	if strings.Contains(stderr.String(), "pw-for-test") {
		t.Fatal("password printed")
	}
	// A second run must not overwrite the key.
	before, _ := os.ReadFile(filepath.Join(dir, "cosign.key"))
	stderr.Reset()
	if code := stepcli.Run(newApp(), []string{"trustline", "key", "generate", "--dir", dir}, &stderr); code != 2 {
		t.Fatalf("overwrite: exit %d: %s", code, stderr.String())
	}
	after, _ := os.ReadFile(filepath.Join(dir, "cosign.key"))
	if !bytes.Equal(before, after) {
		t.Fatal("existing key overwritten")
	}
	os.Unsetenv("COSIGN_PASSWORD")
	stderr.Reset()
	if code := stepcli.Run(newApp(), []string{"trustline", "key", "generate", "--dir", t.TempDir()}, &stderr); code != 2 || !strings.Contains(stderr.String(), "COSIGN_PASSWORD") {
		t.Fatalf("no password: exit %d: %s", code, stderr.String())
	}
}
