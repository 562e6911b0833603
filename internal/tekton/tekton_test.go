package tekton

import (
	"context"
	"strings"
	"testing"
)

func TestParseSplitsDocumentsAndReportsLines(t *testing.T) {
	src := "# comment only\n---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: a\nspec:\n  steps:\n  - name: s\n    image: x\n    command: [x]\n---\napiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata:\n  name: b\n"
	docs, problems := Parse("f.yaml", []byte(src))
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	if docs[0].Name != "a" || docs[0].Line != 3 || docs[0].Task() == nil {
		t.Errorf("first document: %+v", docs[0])
	}
	if len(problems) != 1 || problems[0].Field != "apiVersion" || !strings.Contains(problems[0].Message, "convert v1beta1") {
		t.Errorf("problems = %v", problems)
	}
	if ps := docs[0].Validate(context.Background()); len(ps) != 0 {
		t.Errorf("valid task: %v", ps)
	}
}

func TestUnknownFieldIsNamedWithItsPath(t *testing.T) {
	src := "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n  - name: a\n    taskRef:\n      name: x\n    runafter: [b]\n"
	_, problems := Parse("p.yaml", []byte(src))
	if len(problems) != 1 || problems[0].Field != "spec.tasks[0].runafter" {
		t.Fatalf("problems = %v", problems)
	}
}

func TestEmptyAndInvalidYAML(t *testing.T) {
	if _, ps := Parse("e.yaml", []byte("\n# nothing\n")); len(ps) != 1 || !strings.Contains(ps[0].Message, "no YAML document") {
		t.Errorf("empty: %v", ps)
	}
	if _, ps := Parse("i.yaml", []byte("kind: [")); len(ps) != 1 || !strings.Contains(ps[0].Message, "not valid YAML") {
		t.Errorf("invalid: %v", ps)
	}
}

// Task and pipeline files come from pull requests: decoding and
// validating them must never panic, whatever they hold.
func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: a\nspec:\n  steps:\n  - name: s\n    image: x\n    script: echo $(params.x)\n"))
	f.Add([]byte("apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n  - name: a\n    taskRef:\n      resolver: bundles\n    when:\n    - cel: \"'a' == 'a'\"\n"))
	f.Add([]byte("---\n---\nkind: PipelineRun\napiVersion: tekton.dev/v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, _ := Parse("fuzz.yaml", b)
		for _, d := range docs {
			d.Validate(context.Background())
		}
	})
}
