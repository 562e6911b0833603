package tekton

import (
	"context"
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
)

func parseValidate(t *testing.T, src string) ([]*Document, Problems) {
	t.Helper()
	docs, ps := Parse("f.yaml", []byte(src))
	for _, d := range docs {
		ps = append(ps, d.Validate(context.Background())...)
	}
	return docs, ps
}

func TestParseSplitsDocumentsAndReportsLines(t *testing.T) {
	src := "# comment only\n---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: a\nspec:\n  steps:\n  - name: s\n    image: x\n    command: [x]\n---\napiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata:\n  name: b\nspec:\n  steps:\n  - name: s\n    image: x\n    args: [\"$(params.nope)\"]\n"
	docs, problems := parseValidate(t, src)
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	if docs[0].Name != "a" || docs[0].Line != 3 || docs[0].Task() == nil {
		t.Errorf("first document: %+v", docs[0])
	}
	if docs[1].Task() == nil || docs[1].APIVersion != "tekton.dev/v1beta1" {
		t.Errorf("v1beta1 task not converted to v1: %#v", docs[1].Object)
	}
	if len(problems) != 1 {
		t.Fatalf("problems = %v", problems)
	}
	p := problems[0]
	if p.Doc != 2 || p.Line != 21 || p.Field != "spec.steps[0].args[0]" || !strings.Contains(p.Message, "non-existent variable") {
		t.Errorf("problem = %+v, want doc 2 line 21 spec.steps[0].args[0]", p)
	}
	if got := p.String(); !strings.HasPrefix(got, "f.yaml:21: [doc 2] spec.steps[0].args[0]: ") {
		t.Errorf("String() = %q", got)
	}
}

func TestUnknownFieldIsNamedWithItsPathAndLine(t *testing.T) {
	src := "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n  - name: a\n    taskRef:\n      name: x\n    runafter: [b]\n"
	_, problems := Parse("p.yaml", []byte(src))
	if len(problems) != 1 || problems[0].Field != "spec.tasks[0].runafter" || problems[0].Line != 10 {
		t.Fatalf("problems = %+v", problems)
	}
}

// oneStepTask is a Task of apiVersion with one step; stepFields, indented
// as a step's fields and starting with a newline, follow its image.
func oneStepTask(apiVersion, stepFields string) string {
	return "apiVersion: " + apiVersion + "\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps:\n  - name: s\n    image: x" + stepFields
}

// Under x-kubernetes-preserve-unknown-fields (a Pipeline's taskSpec) the
// apiserver keeps a miscased key and the webhook's encoding/json matches
// it case-insensitively; at a Task's own steps the schema rejects it.
func TestCaseInsensitiveOnlyInPreservedSubtrees(t *testing.T) {
	pipeline := `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: p
spec:
  tasks:
  - name: a
    taskSpec:
      steps:
      - name: s
        image: x
        volumeMounts:
        - name: v
          mountpath: /v
      volumes:
      - name: v
        emptyDir: {}
`
	docs, ps := parseValidate(t, pipeline)
	if len(ps) != 0 {
		t.Fatalf("webhook accepts mountpath inside taskSpec: %v", ps)
	}
	got := docs[0].Pipeline().Spec.Tasks[0].TaskSpec.Steps[0].VolumeMounts[0].MountPath
	if got != "/v" {
		t.Errorf("mountpath decoded as %q, want /v", got)
	}

	task := oneStepTask("tekton.dev/v1", `
    volumeMounts:
    - name: v
      mountpath: /v
`)
	_, ps = parseValidate(t, task)
	if len(ps) != 1 || ps[0].Field != "spec.steps[0].volumeMounts[0].mountpath" || ps[0].Line != 11 {
		t.Fatalf("apiserver rejects mountpath in a Task's steps: %+v", ps)
	}

	// Unknown even case-insensitively: the webhook rejects it, and the
	// problem still names the field.
	_, ps = parseValidate(t, strings.Replace(pipeline, "mountpath", "mountpoint", 1))
	if len(ps) != 1 || ps[0].Field != "spec.tasks[0].taskSpec.steps[0].volumeMounts[0].mountpoint" || ps[0].Line != 14 {
		t.Fatalf("webhook rejects an unknown field in taskSpec: %+v", ps)
	}
}

func TestGenerateNameIsFilledIn(t *testing.T) {
	src := "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata:\n  generateName: run-\nspec:\n  taskRef:\n    name: t\n"
	docs, ps := parseValidate(t, src)
	if len(ps) != 0 {
		t.Fatalf("generateName: %v", ps)
	}
	if docs[0].Name != "run-" {
		t.Errorf("Name = %q", docs[0].Name)
	}
	_, ps = parseValidate(t, "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {}\nspec:\n  taskRef:\n    name: t\n")
	if len(ps) != 1 || ps[0].Field != "metadata.name" {
		t.Errorf("neither name nor generateName: %v", ps)
	}
}

func TestStepActionVersions(t *testing.T) {
	for _, v := range []string{"v1alpha1", "v1beta1"} {
		docs, ps := parseValidate(t, "apiVersion: tekton.dev/"+v+"\nkind: StepAction\nmetadata:\n  name: s\nspec:\n  image: x\n  command: [x]\n")
		if len(ps) != 0 {
			t.Fatalf("%s: %v", v, ps)
		}
		if _, ok := docs[0].Object.(*v1beta1.StepAction); !ok {
			t.Errorf("%s: object %T, want *v1beta1.StepAction", v, docs[0].Object)
		}
	}
}

func TestOtherKubernetesObjects(t *testing.T) {
	src := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\nsecret: [x]\n"
	docs, ps := parseValidate(t, src)
	if len(docs) != 4 {
		t.Fatalf("docs = %d", len(docs))
	}
	for _, d := range docs[:3] {
		if len(d.Notes) != 1 || !d.Notes[0].IsNote() {
			t.Errorf("%s: notes %v", d.Kind, d.Notes)
		}
	}
	if len(ps) != 1 || ps[0].Doc != 4 || ps[0].Field != "secret" || ps[0].Line != 24 {
		t.Errorf("unknown field of a ServiceAccount: %+v", ps)
	}
	_, ps = parseValidate(t, "apiVersion: tekton.dev/v1alpha1\nkind: Task\nmetadata:\n  name: t\n")
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "not served by Tekton Pipelines v1.10") {
		t.Errorf("v1alpha1 Task: %v", ps)
	}
}

func TestTypeErrorNamesTheYAMLField(t *testing.T) {
	src := "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps:\n  - name: a\n    image: x\n  - name: b\n    image: 3\n"
	_, ps := parseValidate(t, src)
	if len(ps) != 1 || ps[0].Field != "spec.steps[1].image" || ps[0].Line != 10 || !strings.Contains(ps[0].Message, "got number, want a string") {
		t.Fatalf("problems = %+v", ps)
	}
}

func TestYAMLErrorsGiveTheLineInTheFile(t *testing.T) {
	if _, ps := Parse("e.yaml", []byte("\n# nothing\n")); len(ps) != 1 || !strings.Contains(ps[0].Message, "no YAML document") {
		t.Errorf("empty: %v", ps)
	}
	src := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n"
	_, ps := Parse("i.yaml", []byte(src))
	if len(ps) != 1 || ps[0].Doc != 2 || ps[0].Line < 9 || !strings.Contains(ps[0].Message, "not valid YAML") {
		t.Errorf("invalid: %+v", ps)
	}
	_, ps = Parse("s.yaml", []byte("a: 1\n--- x\nb: 2\n"))
	if len(ps) != 1 || ps[0].Line != 2 {
		t.Errorf("bad separator: %+v", ps)
	}
}

func TestDuplicateKeyIsANote(t *testing.T) {
	src := "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps:\n  - name: s\n    image: x\n    image: second\n"
	docs, ps := parseValidate(t, src)
	if len(ps) != 0 || len(docs[0].Notes) != 1 || docs[0].Notes[0].Line != 9 {
		t.Fatalf("problems %v notes %+v", ps, docs[0].Notes)
	}
	if got := docs[0].Task().Spec.Steps[0].Image; got != "second" {
		t.Errorf("image = %q, kubectl keeps the last", got)
	}
}

func TestLongValuesAreShortened(t *testing.T) {
	script := strings.Repeat("echo hello world\n", 420) + "echo $(params.missing)\n"
	src := "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps:\n  - name: s\n    image: x\n    script: |\n" +
		"      " + strings.ReplaceAll(strings.TrimSuffix(script, "\n"), "\n", "\n      ") + "\n"
	_, ps := parseValidate(t, src)
	if len(ps) != 1 {
		t.Fatalf("problems = %v", ps)
	}
	if len(ps[0].Message) > 300 || !strings.Contains(ps[0].Message, "characters)") {
		t.Errorf("message not shortened (%d chars): %s", len(ps[0].Message), ps[0].Message)
	}
}

// v1beta1 step "resources" is v1 "computeResources": the conversion is
// Tekton's.
func TestV1beta1ConvertsWithTektonsCode(t *testing.T) {
	src := oneStepTask("tekton.dev/v1beta1", `
    resources:
      limits:
        memory: 1Gi
`)
	docs, ps := parseValidate(t, src)
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	task := docs[0].Task()
	if task == nil {
		t.Fatalf("not converted: %T", docs[0].Object)
	}
	if got := task.Spec.Steps[0].ComputeResources.Limits.Memory().String(); got != "1Gi" {
		t.Errorf("computeResources.limits.memory = %q", got)
	}
}

// Task and pipeline files come from pull requests: decoding and
// validating them must never panic, and every problem must point inside
// the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: a\nspec:\n  steps:\n  - name: s\n    image: x\n    script: echo $(params.x)\n"))
	f.Add([]byte("apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n  - name: a\n    taskRef:\n      resolver: bundles\n    when:\n    - cel: \"'a' == 'a'\"\n"))
	f.Add([]byte("---\n---\nkind: PipelineRun\napiVersion: tekton.dev/v1\n"))
	f.Add([]byte("apiVersion: tekton.dev/v1beta1\nkind: Pipeline\nmetadata:\n  generateName: p-\nspec:\n  tasks:\n  - name: a\n    taskSpec:\n      steps:\n      - name: s\n        image: 3\n        workingdir: x\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n---\napiVersion: tekton.dev/v1alpha1\nkind: StepAction\nmetadata:\n  name: a\nspec:\n  image: x\n  image: y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Lines as YAML counts them: a lone CR breaks a line too
		// (testdata/fuzz/FuzzParse/e88f4e5fbc5c98ec), and YAML's own
		// errors name lines by that count.
		lines := strings.Count(string(b), "\n") + strings.Count(string(b), "\r") - strings.Count(string(b), "\r\n") + 1
		docs, ps := Parse("fuzz.yaml", b)
		for _, d := range docs {
			ps = append(ps, d.Validate(context.Background())...)
			ps = append(ps, d.Notes...)
		}
		for _, p := range ps {
			if p.Line < 0 || p.Line > lines+1 {
				t.Fatalf("problem on line %d of a %d-line file: %s", p.Line, lines, p)
			}
		}
	})
}
