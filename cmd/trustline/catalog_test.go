package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/stepcli"
)

// Conforma's minimal collection fails on an empty allowed_registry_prefixes
// (seen on the e2e cluster, for an image FROM scratch), so rule-data warns
// when no --allowed-registry is given, and writes the prefixes given.
func TestRuleDataAllowedRegistryWarning(t *testing.T) {
	cat := filepath.Join("..", "..", "catalog.yaml")
	for _, tc := range []struct {
		args []string
		warn bool
		want string
	}{
		{nil, true, "allowed_step_image_registry_prefixes"},
		{[]string{"--allowed-registry", "registry.example/"}, false, "allowed_registry_prefixes:\n  - registry.example/"},
	} {
		out := filepath.Join(t.TempDir(), "rule-data.yaml")
		var stderr bytes.Buffer
		args := append([]string{"trustline", "catalog", "rule-data", "--catalog", cat, "--output", out}, tc.args...)
		if code := stepcli.Run(newApp(), args, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr.String())
		}
		if got := strings.Contains(stderr.String(), "warning: no --allowed-registry"); got != tc.warn {
			t.Errorf("%v: warned %v, want %v (stderr %q)", tc.args, got, tc.warn, stderr.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%v: rule data lacks %q:\n%s", tc.args, tc.want, b)
		}
	}
}
