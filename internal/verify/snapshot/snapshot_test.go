package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const spec = `{"application": "app", "components": [
 {"name": "api", "containerImage": "quay.io/team/api@sha256:1111111111111111111111111111111111111111111111111111111111111111",
  "source": {"git": {"url": "https://github.com/team/api", "revision": "abc"}}},
 {"name": "web", "containerImage": "quay.io/team/web:v1"}]}`

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(p, []byte(spec), 0o644)
	for _, in := range []string{p, spec} {
		s, err := Load(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Components) != 2 || s.Components[0].Source.Git.Revision != "abc" || s.Components[1].Source.Git != nil {
			t.Errorf("%+v", s)
		}
	}
	cr := "apiVersion: appstudio.redhat.com/v1alpha1\nkind: Snapshot\nspec:\n  components:\n  - name: a\n    containerImage: quay.io/a:1\n"
	if s, err := Parse([]byte(cr)); err != nil || s.Components[0].Name != "a" {
		t.Errorf("resource: %v %v", s, err)
	}
}

func TestErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`{"components": []}`: "at least one component",
		`{"components": [{"name": "a", "containerImage": ""}]}`:               "components[0] (a).containerImage is empty",
		`{"components": [{"name": "a", "containerImage": "UPPER/x:1"}]}`:      "components[0] (a).containerImage",
		`{"components": [{"name": "a", "containerImage": "x", "colour": 1}]}`: `unknown field "colour"`,
		`{"kind": "Pod", "spec": {}}`:                                         "kind",
		`"x"`:                                                                 "must be an object",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want %q", doc, err, want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(spec))
	f.Add([]byte("spec:\n  components:\n  - {name: a, containerImage: 'a/b:c'}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, c := range s.Components {
			if c.ContainerImage == "" {
				t.Fatal("accepted an empty image")
			}
		}
	})
}
