package sbomtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ValidateCycloneDX fails the test unless doc passes the official
// CycloneDX 1.6 JSON schema in shared/schemas (found above the working
// directory, as CI lays it out beside the repository).
func ValidateCycloneDX(t testing.TB, doc []byte) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var schemas string
	for {
		cand := filepath.Join(dir, "shared", "schemas", "cyclonedx")
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			schemas = cand
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("shared/schemas/cyclonedx not found above the package directory")
		}
		dir = filepath.Dir(dir)
	}
	c := jsonschema.NewCompiler()
	var mainID string
	for _, f := range []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"} {
		b, err := os.ReadFile(filepath.Join(schemas, f))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := s.(map[string]any)["$id"].(string)
		if id == "" {
			id = "file:///" + f
		}
		if mainID == "" {
			mainID = id
		}
		if err := c.AddResource(id, s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	sch, err := c.Compile(mainID)
	if err != nil {
		t.Fatalf("compiling the CycloneDX schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("CycloneDX document fails the 1.6 schema: %v", err)
	}
}
