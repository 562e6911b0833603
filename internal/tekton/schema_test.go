package tekton

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The table of preserved subtrees is Tekton's: recompute it from the CRDs
// in the tektoncd/pipeline module this build uses.
func TestPreservedFieldsMatchTektonCRDs(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tektoncd/pipeline").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "300-crds")
	got := map[string][]string{}
	for _, f := range []string{"300-task.yaml", "300-pipeline.yaml", "300-taskrun.yaml", "300-pipelinerun.yaml", "300-stepaction.yaml", "300-customrun.yaml", "300-verificationpolicy.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var crd struct {
			Spec struct {
				Group    string
				Names    struct{ Kind string }
				Versions []struct {
					Name   string
					Served bool
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatal(err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			key := crd.Spec.Group + "/" + v.Name + "/" + crd.Spec.Names.Kind
			got[key] = []string{}
			walkSchema(v.Schema.OpenAPIV3Schema, "", func(p string) { got[key] = append(got[key], p) })
		}
	}
	for key, want := range preservedFields {
		g := got[key]
		slices.Sort(g)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("%s: CRD preserves %q, table has %q", key, g, w)
		}
	}
	for key := range got {
		if _, ok := preservedFields[key]; !ok {
			t.Errorf("%s is served but not in the table", key)
		}
		if _, ok := tektonKinds[key]; !ok {
			t.Errorf("%s is served but not admitted here", key)
		}
	}
}

func walkSchema(s map[string]any, path string, found func(string)) {
	if s == nil {
		return
	}
	if s["x-kubernetes-preserve-unknown-fields"] == true && s["properties"] == nil {
		found(path)
		return
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k, v := range props {
			child := k
			if path != "" {
				child = path + "." + k
			}
			m, _ := v.(map[string]any)
			walkSchema(m, child, found)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		walkSchema(items, path+"[]", found)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		walkSchema(ap, path+"[]", found)
	}
}
