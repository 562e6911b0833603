package sbom

import (
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// schemaOf is the official schema of format f.
func schemaOf(t testing.TB, f Format) *jsonschema.Schema {
	t.Helper()
	if f == SPDX {
		return sharedtest.SPDX(t)
	}
	return sharedtest.CycloneDX(t)
}

// validate checks doc against the official schema of format f.
func validate(t testing.TB, f Format, doc []byte) {
	t.Helper()
	sharedtest.Validate(t, schemaOf(t, f), string(f), doc)
}

// TestSchemaRejects makes sure the validation can fail: a document that
// breaks each schema must be rejected.
func TestSchemaRejects(t *testing.T) {
	for f, doc := range map[Format]string{
		CycloneDX: `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"no-such-type","name":"x"}]}`,
		SPDX:      `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`,
	} {
		var inst any
		if err := json.Unmarshal([]byte(doc), &inst); err != nil {
			t.Fatal(err)
		}
		if schemaOf(t, f).Validate(inst) == nil {
			t.Errorf("%s: schema accepted an invalid document", f)
		}
	}
}
