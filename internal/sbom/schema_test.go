package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sharedDir finds the shared/ folder beside the repository root by walking
// up from the package directory. It fails, never skips: the schemas are
// what the documents must pass.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "schemas")
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return filepath.Join(dir, "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/schemas not found above the package directory; CI must lay out shared/ beside the repository")
		}
		dir = parent
	}
}

func compileSchema(t testing.TB, main string, files ...string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	var mainID string
	for _, f := range append([]string{main}, files...) {
		b, err := os.ReadFile(filepath.Join(sharedDir(t), "schemas", f))
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

// validate checks doc against the official schema of format f.
func validate(t testing.TB, f Format, doc []byte) {
	t.Helper()
	var s *jsonschema.Schema
	switch f {
	case CycloneDX:
		s = compileSchema(t, "cyclonedx/bom-1.6.schema.json", "cyclonedx/spdx.schema.json", "cyclonedx/jsf-0.82.schema.json")
	case SPDX:
		s = compileSchema(t, "spdx/spdx-2.3.schema.json")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("%s document fails its schema: %v", f, err)
	}
}

// TestSchemaRejects makes sure the validation can fail: a document that
// breaks each schema must be rejected.
func TestSchemaRejects(t *testing.T) {
	for f, doc := range map[Format]string{
		CycloneDX: `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"no-such-type","name":"x"}]}`,
		SPDX:      `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`,
	} {
		var s = map[Format][]string{
			CycloneDX: {"cyclonedx/bom-1.6.schema.json", "cyclonedx/spdx.schema.json", "cyclonedx/jsf-0.82.schema.json"},
			SPDX:      {"spdx/spdx-2.3.schema.json"},
		}[f]
		sch := compileSchema(t, s[0], s[1:]...)
		var inst any
		if err := json.Unmarshal([]byte(doc), &inst); err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("%s: schema accepted an invalid document", f)
		}
	}
}
