package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func TestPolicyExport(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "cosign.pub")
	pem, err := signingtest.NewSigner(t).PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pub, pem, 0o644)
	code, stdout, stderr := stepcli.Capture(newApp(), "trustline", "policy", "export", "--format", "kyverno", "--public-key", pub, "--image", "registry.example.com/org/**")
	if code != 0 || !strings.Contains(stdout, "kind: ClusterPolicy") || !strings.Contains(stdout, "registry.example.com/org/*\n") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	out := filepath.Join(dir, "cip.yaml")
	if code, _, stderr := stepcli.Capture(newApp(), "trustline", "policy", "export", "--format", "policy-controller", "--public-key", pub, "--image", "r.example/**", "--output", out); code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "kind: ClusterImagePolicy") {
		t.Errorf("--output: %s", b)
	}
	for name, args := range map[string][]string{
		"format":  {"--format", "opa", "--public-key", pub, "--image", "r/**"},
		"key":     {"--format", "kyverno", "--public-key", filepath.Join(dir, "none.pub"), "--image", "r/**"},
		"no key":  {"--format", "kyverno", "--image", "r/**"},
		"badname": {"--format", "kyverno", "--public-key", pub, "--image", "r/**", "--name", "A B"},
	} {
		if code, _, stderr := stepcli.Capture(newApp(), append([]string{"trustline", "policy", "export"}, args...)...); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", name, code, stderr)
		}
	}
}
