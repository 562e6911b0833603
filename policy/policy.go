// Package policy embeds trustline's default policy pack: Rego rules in
// Conforma's style (release/), their library (lib/) and the default rule
// data (data/). verify-policy uses it when no --policy is given.
package policy

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed lib release data
var files embed.FS

// FS returns the pack's files, tests included.
func FS() fs.FS { return files }

// Extract writes the pack (without *_test.rego files) under dir and
// returns the policy and data directories to load.
func Extract(dir string) (policyDir, dataDir string, err error) {
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return "", "", fmt.Errorf("extracting the default policy pack: %w", err)
	}
	return dir, filepath.Join(dir, "data"), nil
}
