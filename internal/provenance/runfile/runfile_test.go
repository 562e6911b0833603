package runfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	for file, kind := range map[string]string{"taskrun.yaml": "TaskRun", "pipelinerun.yaml": "PipelineRun"} {
		r, err := ParseFile(filepath.Join("..", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if (kind == "TaskRun") != (r.TaskRun != nil) || (kind == "PipelineRun") != (r.PipelineRun != nil) {
			t.Errorf("%s: %+v", file, r)
		}
	}
	for name, in := range map[string]string{
		"not yaml":      "{",
		"wrong api":     "apiVersion: tekton.dev/v1beta1\nkind: TaskRun\n",
		"wrong kind":    "apiVersion: tekton.dev/v1\nkind: Task\n",
		"unknown field": "apiVersion: tekton.dev/v1\nkind: TaskRun\nspec:\n  bogus: 1\n",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseFile("nope.yaml"); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"taskrun.yaml", "pipelinerun.yaml"} {
		b, _ := os.ReadFile(filepath.Join("..", "testdata", n))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err == nil && (r.TaskRun == nil) == (r.PipelineRun == nil) {
			t.Fatalf("Parse returned %+v", r)
		}
	})
}
