package provenance

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/golden"
)

func mustParse(t *testing.T, file string) *Run {
	t.Helper()
	r, err := ParseFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkStatement compares the statement, re-indented (protojson's spacing varies
// between builds on purpose), with testdata/<name>.
func checkStatement(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	golden.Check(t, filepath.Join("testdata", name), buf.Bytes())
}

func TestTaskRunSLSA1(t *testing.T) {
	r := mustParse(t, "taskrun.yaml")
	st, err := TaskRun(context.Background(), r.TaskRun, SLSA1)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, "slsa/slsa_provenance_v1.json", st)
	checkStatement(t, "taskrun.slsa1.json", st)
	s, err := Summarize(st)
	if err != nil {
		t.Fatal(err)
	}
	if s.PredicateType != PredicateSLSA1 {
		t.Errorf("predicateType %s", s.PredicateType)
	}
	if len(s.Subjects) != 1 || s.Subjects[0].Name != "registry.example/team/app" ||
		s.Subjects[0].Digest["sha256"] != strings.Repeat("3", 64) {
		t.Errorf("subjects %+v", s.Subjects)
	}
	var sbom *ByProduct
	for i, b := range s.ByProducts {
		if b.Name == "taskRunResults/build-app-run-x7k2p/SBOM_ARTIFACT_OUTPUTS" {
			sbom = &s.ByProducts[i]
		}
		if strings.Contains(b.Name, "IMAGE_") {
			t.Errorf("image result %s reported as a byproduct", b.Name)
		}
	}
	if sbom == nil || !strings.Contains(string(sbom.Content), strings.Repeat("4", 64)) {
		t.Errorf("SBOM byproduct missing or wrong: %+v", s.ByProducts)
	}
	// The source and the task bundle are resolved dependencies (the bundle
	// by its bare repository, as Tekton's bundles resolver records it).
	for _, want := range []string{"git+https://github.com/trustline-dev/example-app", `"ghcr.io/trustline-dev/task-build"`, "step-build"} {
		if !strings.Contains(string(st), want) {
			t.Errorf("statement does not mention %s", want)
		}
	}
}

func TestTaskRunSLSA02(t *testing.T) {
	r := mustParse(t, "taskrun.yaml")
	st, err := TaskRun(context.Background(), r.TaskRun, SLSA02, WithBuilderID("https://trustline.dev/builder"))
	if err != nil {
		t.Fatal(err)
	}
	validate(t, "slsa/slsa_provenance_v0.2.json", st)
	checkStatement(t, "taskrun.slsa02.json", st)
	var v struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			Builder struct{ ID string } `json:"builder"`
		} `json:"predicate"`
	}
	json.Unmarshal(st, &v)
	if v.PredicateType != PredicateSLSA02 || v.Predicate.Builder.ID != "https://trustline.dev/builder" {
		t.Errorf("%+v", v)
	}
}

func TestPipelineRun(t *testing.T) {
	pr := mustParse(t, "pipelinerun.yaml").PipelineRun
	tr := mustParse(t, "taskrun.yaml").TaskRun
	for _, f := range []Format{SLSA1, SLSA02} {
		st, err := PipelineRun(context.Background(), pr, nil, f)
		if err != nil {
			t.Fatal(err)
		}
		schema := "slsa/slsa_provenance_v1.json"
		if f == SLSA02 {
			schema = "slsa/slsa_provenance_v0.2.json"
		}
		validate(t, schema, st)
		s, _ := Summarize(st)
		if len(s.Subjects) != 1 || s.Subjects[0].Name != "registry.example/team/app" {
			t.Errorf("%s: subjects %+v", f, s.Subjects)
		}
		// With the child TaskRun the build step shows up.
		st2, err := PipelineRun(context.Background(), pr, []*pipelinev1.TaskRun{tr}, f)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, schema, st2)
		if !strings.Contains(string(st2), "step-build") {
			t.Errorf("%s: child TaskRun's step not in the provenance", f)
		}
	}
}

func TestBadInput(t *testing.T) {
	r := mustParse(t, "taskrun.yaml")
	r.TaskRun.Status.CompletionTime = nil
	if _, err := TaskRun(context.Background(), r.TaskRun, SLSA1); err == nil || !strings.Contains(err.Error(), "completionTime") {
		t.Errorf("unfinished TaskRun: %v", err)
	}
	if _, err := ParseFormat("slsa/v3"); err == nil {
		t.Error("unknown format accepted")
	}
}
