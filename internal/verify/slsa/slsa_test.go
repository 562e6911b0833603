package slsa

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/sharedtest"
)

func TestEmbeddedSchemasMatchShared(t *testing.T) {
	for _, f := range []string{"slsa_provenance_v1.json", "slsa_provenance_v0.2.json"} {
		want, err := os.ReadFile(filepath.Join(sharedtest.Schemas(t), "slsa", f))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := schemas.ReadFile("schemas/" + f)
		if !bytes.Equal(got, want) {
			t.Errorf("embedded %s differs from shared/schemas/slsa; copy it again", f)
		}
	}
}

func TestValidate(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	good := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"ab"}}],"predicateType":"https://slsa.dev/provenance/v1",
"predicate":{"buildDefinition":{"buildType":"https://tekton.dev/chains/v2/slsa","externalParameters":{}},"runDetails":{"builder":{"id":"https://tekton.dev/chains/v2"}}}}`
	if err := v.Validate(ProvenanceV1, []byte(good)); err != nil {
		t.Errorf("good: %v", err)
	}
	noBuilder := strings.Replace(good, `"builder":{"id":"https://tekton.dev/chains/v2"}`, `"builder":{}`, 1)
	if err := v.Validate(ProvenanceV1, []byte(noBuilder)); err == nil {
		t.Error("provenance without builder.id accepted")
	}
	badDigest := strings.Replace(good, `"sha256":"ab"`, `"sha256":"XYZ"`, 1)
	if err := v.Validate(ProvenanceV1, []byte(badDigest)); err == nil {
		t.Error("non-hex digest accepted")
	}
	if err := v.Validate("https://cyclonedx.org/bom", []byte(`{}`)); err != nil {
		t.Errorf("types without a schema pass: %v", err)
	}
}
