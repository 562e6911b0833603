// Package testdb finds the shared test data (the real OSV databases and
// the official schemas) that lies in the shared/ folder beside the
// repository, for tests of the scan packages.
package testdb

import (
	"os"
	"path/filepath"
	"testing"
)

// Shared returns the shared/ folder, walking up from the working
// directory. The test fails when it is missing: these tests are about
// real data, never skipped.
func Shared(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared")
		if st, err := os.Stat(filepath.Join(cand, "osv")); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/ (with osv/ and schemas/) not found beside the repository: tests need the real OSV databases there")
		}
		dir = parent
	}
}

// OSV returns shared/osv.
func OSV(t testing.TB) string { return filepath.Join(Shared(t), "osv") }

// Schemas returns shared/schemas.
func Schemas(t testing.TB) string { return filepath.Join(Shared(t), "schemas") }
