package policyexport

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/golden"
)

// The CRDs the exports are checked against, as the projects publish them
// (gzipped): policy-controller's config/300-clusterimagepolicy.yaml at
// f925c0c1 (2026-08-18) and Kyverno's
// config/crds/kyverno/kyverno.io_clusterpolicies.yaml at 111e07bb
// (2026-08-21). Their Go modules are not dependencies of trustline: see
// docs/deploy-gate.md.
var crds = map[string]struct{ file, version string }{
	PolicyController: {"policy-controller-clusterimagepolicy.crd.yaml.gz", "v1beta1"},
	Kyverno:          {"kyverno-clusterpolicies.crd.yaml.gz", "v1"},
}

const testKey = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+e91RfrJZNlQdTEEFtWuRp0PvrHU
CPBqddBooNe7hv7ZDOA0jApcfudbP0Zyil0L1bFgzWDR7hajJ24bAneoxA==
-----END PUBLIC KEY-----
`

// schemaOf turns a CRD version's openAPIV3Schema into a JSON Schema
// that rejects unknown fields, as the API server prunes them: every
// object with properties and without x-kubernetes-preserve-unknown-fields
// gets additionalProperties: false; int-or-string and nullable become
// JSON Schema types.
func schemaOf(t *testing.T, format string) *jsonschema.Schema {
	t.Helper()
	c := crds[format]
	f, err := os.Open(filepath.Join("testdata", c.file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Served bool   `json:"served"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	for _, v := range crd.Spec.Versions {
		if v.Name == c.version && v.Served {
			s = v.Schema.OpenAPIV3Schema
		}
	}
	if s == nil {
		t.Fatalf("%s: no served version %s", c.file, c.version)
	}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if n["x-kubernetes-int-or-string"] == true {
			delete(n, "type")
			n["anyOf"] = []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
		}
		if n["nullable"] == true {
			if ty, ok := n["type"].(string); ok {
				n["type"] = []any{ty, "null"}
			}
		}
		props, hasProps := n["properties"].(map[string]any)
		if hasProps && n["x-kubernetes-preserve-unknown-fields"] != true {
			if _, ok := n["additionalProperties"]; !ok {
				n["additionalProperties"] = false
			}
		}
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				walk(m)
			}
		}
		for _, k := range []string{"items", "additionalProperties"} {
			if m, ok := n[k].(map[string]any); ok {
				walk(m)
			}
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			if l, ok := n[k].([]any); ok {
				for _, e := range l {
					if m, ok := e.(map[string]any); ok {
						walk(m)
					}
				}
			}
		}
		for k := range n {
			if strings.HasPrefix(k, "x-kubernetes-") || k == "nullable" {
				delete(n, k)
			}
		}
	}
	walk(s)
	// metadata is ObjectMeta, left open by CRDs; apiVersion and kind are
	// always allowed, listed or not.
	if p, ok := s["properties"].(map[string]any); ok {
		p["metadata"] = map[string]any{"type": "object"}
		p["apiVersion"] = map[string]any{"type": "string"}
		p["kind"] = map[string]any{"type": "string"}
	}
	js, _ := json.Marshal(s)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("file:///"+format+".json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := comp.Compile("file:///" + format + ".json")
	if err != nil {
		t.Fatalf("%s schema: %v", format, err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, y []byte) error {
	t.Helper()
	js, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

func TestExportMatchesPublishedCRDs(t *testing.T) {
	spec := Spec{Images: []string{"registry.example.com/org/**", "quay.io/team/app*"}, PublicKey: []byte(testKey)}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			out, err := Export(format, spec)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", format+".golden.yaml"), out)
			sch := schemaOf(t, format)
			if err := validate(t, sch, out); err != nil {
				t.Fatalf("fails the %s CRD schema: %v\n%s", format, err, out)
			}
			// The schema check has teeth: a misspelt field fails it.
			bad := bytes.Replace(out, []byte("imageReferences:"), []byte("imageReference:"), 1)
			bad = bytes.Replace(bad, []byte("hashAlgorithm:"), []byte("hashAlgorithim:"), 1)
			if err := validate(t, sch, bad); err == nil {
				t.Error("a misspelt field passed the schema")
			}
			if !bytes.Contains(out, []byte("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+e91RfrJZNlQdTEEFtWuRp0PvrHU")) || !bytes.Contains(out, []byte(SLSAProvenance)) {
				t.Error("the key or the SLSA predicate type is missing")
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	for name, c := range map[string]struct {
		format string
		spec   Spec
		want   string
	}{
		"format":    {"gatekeeper", Spec{Images: []string{"r/**"}, PublicKey: []byte(testKey)}, `format "gatekeeper"`},
		"no images": {Kyverno, Spec{PublicKey: []byte(testKey)}, "no image patterns"},
		"no key":    {Kyverno, Spec{Images: []string{"r/**"}, PublicKey: []byte("ssh-ed25519 AAAA")}, "not a PEM PUBLIC KEY"},
		"name":      {Kyverno, Spec{Name: "Trust Line", Images: []string{"r/**"}, PublicKey: []byte(testKey)}, `name "Trust Line"`},
		"label":     {Kyverno, Spec{Images: []string{"r/**"}, PublicKey: []byte(testKey), NamespaceLabel: "gate"}, `namespace label "gate"`},
	} {
		if _, err := Export(c.format, c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
