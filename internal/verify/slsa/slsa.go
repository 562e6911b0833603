// Package slsa checks SLSA provenance statements against the official
// SLSA provenance JSON schemas (v1 and v0.2, as Conforma checks them before
// any rule runs). The schemas are embedded so the step binary needs no
// files; a test keeps them identical to ../shared/schemas/slsa.
package slsa

import (
	"bytes"
	"embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Predicate types with a schema.
const (
	ProvenanceV1  = "https://slsa.dev/provenance/v1"
	ProvenanceV02 = "https://slsa.dev/provenance/v0.2"
)

//go:embed schemas/*.json
var schemas embed.FS

// Validator holds the compiled schemas; it is safe for concurrent use.
type Validator struct {
	byType map[string]*jsonschema.Schema
}

// New compiles the embedded schemas.
func New() (*Validator, error) {
	c := jsonschema.NewCompiler()
	v := &Validator{byType: map[string]*jsonschema.Schema{}}
	for pt, file := range map[string]string{ProvenanceV1: "schemas/slsa_provenance_v1.json", ProvenanceV02: "schemas/slsa_provenance_v0.2.json"} {
		b, err := schemas.ReadFile(file)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", file, err)
		}
		url := "mem:///" + file
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
		s, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", file, err)
		}
		v.byType[pt] = s
	}
	return v, nil
}

// Has reports whether predicateType has a schema.
func (v *Validator) Has(predicateType string) bool { return v.byType[predicateType] != nil }

// Validate checks a statement (its JSON) whose predicate type has a schema;
// statements of other types pass.
func (v *Validator) Validate(predicateType string, statement []byte) error {
	s := v.byType[predicateType]
	if s == nil {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(statement))
	if err != nil {
		return fmt.Errorf("statement is not JSON: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("%s statement does not match the SLSA schema: %w", predicateType, err)
	}
	return nil
}
