// Package sharedtest gives tests the shared/ folder that lies beside the
// repository (CI lays a copy at the same place): the real OSV databases
// and the official JSON schemas that what trustline writes must pass.
//
// Tests that need it fail, never skip, when it is missing: they are about
// real data.
package sharedtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Dir returns the shared/ folder, walking up from the working directory.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared")
		if isDir(filepath.Join(cand, "schemas")) && isDir(filepath.Join(cand, "osv")) {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/ (with osv/ and schemas/) not found beside the repository: the tests need the real OSV databases and schemas there")
		}
		dir = parent
	}
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// OSV returns shared/osv, the osv.dev exports in <Ecosystem>/all.zip layout.
func OSV(t testing.TB) string { return filepath.Join(Dir(t), "osv") }

// Schemas returns shared/schemas.
func Schemas(t testing.TB) string { return filepath.Join(Dir(t), "schemas") }

// compiled holds the schemas Schema compiled, by their files: a test
// binary validates many documents against one schema, and compiling
// CycloneDX's is most of the cost of a check.
var compiled sync.Map

// Schema compiles the schema file main, with the files it refers to, all
// relative to shared/schemas; formats are asserted. A file is known by its
// $id, or by a file URL when it has none. Compiled schemas are kept for
// the rest of the test binary (they are safe for concurrent use).
func Schema(t testing.TB, main string, refs ...string) *jsonschema.Schema {
	t.Helper()
	key := strings.Join(append([]string{main}, refs...), "\x00")
	if s, ok := compiled.Load(key); ok {
		return s.(*jsonschema.Schema)
	}
	s := compile(t, main, refs)
	compiled.Store(key, s)
	return s
}

func compile(t testing.TB, main string, refs []string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	var mainID string
	for _, f := range append([]string{main}, refs...) {
		b, err := os.ReadFile(filepath.Join(Schemas(t), f))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			id = "file:///" + f
		}
		if f == main {
			mainID = id
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	s, err := c.Compile(mainID)
	if err != nil {
		t.Fatalf("compiling %s: %v", main, err)
	}
	return s
}

// CycloneDX is the official CycloneDX 1.6 schema.
func CycloneDX(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return Schema(t, "cyclonedx/bom-1.6.schema.json", "cyclonedx/spdx.schema.json", "cyclonedx/jsf-0.82.schema.json")
}

// SPDX is the official SPDX 2.3 schema.
func SPDX(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return Schema(t, "spdx/spdx-2.3.schema.json")
}

// Validate fails the test unless doc, a JSON document of the kind named by
// what, passes s.
func Validate(t testing.TB, s *jsonschema.Schema, what string, doc []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s document is not JSON: %v", what, err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("%s document fails its schema: %v", what, err)
	}
}

// ValidateCycloneDX fails the test unless doc passes the CycloneDX 1.6
// schema.
func ValidateCycloneDX(t testing.TB, doc []byte) {
	t.Helper()
	Validate(t, CycloneDX(t), "CycloneDX", doc)
}
