// Package testdb finds the shared test data (the real OSV databases and
// the official schemas) that lies in the shared/ folder beside the
// repository, for tests of the scan packages and of the scan step
// (steps/scan, which is why it is not under internal/scan/internal).
package testdb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
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

// ValidateCycloneDX checks doc against the official CycloneDX 1.6 JSON
// schema (with formats asserted).
func ValidateCycloneDX(t testing.TB, doc []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	dir := filepath.Join(Schemas(t), "cyclonedx")
	for _, f := range []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		d, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+f, d); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("CycloneDX output is not JSON: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("CycloneDX output fails the 1.6 schema: %v", err)
	}
}
