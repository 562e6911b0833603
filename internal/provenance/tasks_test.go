package provenance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"sigs.k8s.io/yaml"
)

// TestTaskTypeHints runs every task of the library (tasks/*/*/*.yaml),
// given plausible values for its declared results, through the Chains SLSA
// v1.0 formatter, and checks what Chains makes of the type hints: image
// results (IMAGE_URL+IMAGE_DIGEST, <X>_IMAGE_URL+<X>_IMAGE_DIGEST, IMAGES)
// become subjects, and every *_ARTIFACT_OUTPUTS (SBOMs, reports) becomes a
// byproduct and never a subject, since Chains' OCI storage rejects subjects
// that are not images.
func TestTaskTypeHints(t *testing.T) {
	root := filepath.Dir(findUp(t, "go.mod"))
	files, err := filepath.Glob(filepath.Join(root, "tasks", "*", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tasks []string
	for _, f := range files {
		// tasks/<name>/<version>/<name>.yaml; other YAML beside it
		// (samples) is not a task.
		if filepath.Base(f) == filepath.Base(filepath.Dir(filepath.Dir(f)))+".yaml" {
			tasks = append(tasks, f)
		}
	}
	if len(tasks) == 0 {
		t.Fatalf("no tasks found under %s/tasks", root)
	}
	for _, f := range tasks {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) { checkTask(t, f) })
	}
}

func fakeDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func checkTask(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var task pipelinev1.Task
	if err := yaml.Unmarshal(b, &task); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if task.Kind != "Task" {
		t.Fatalf("%s: kind %q", path, task.Kind)
	}
	declared := map[string]pipelinev1.TaskResult{}
	for _, r := range task.Spec.Results {
		declared[r.Name] = r
	}

	// Plausible values, and what Chains should make of them.
	wantSubjects := map[string]string{} // repository -> digest
	wantByproducts := map[string]string{}
	var results []pipelinev1.TaskRunResult
	for _, r := range task.Spec.Results {
		v, err := plausible(task.Name, r, declared)
		if err != nil {
			t.Error(err)
			continue
		}
		results = append(results, pipelinev1.TaskRunResult{Name: r.Name, Type: r.Type, Value: *v})
		switch {
		case strings.HasSuffix(r.Name, "IMAGE_URL"):
			prefix := strings.TrimSuffix(r.Name, "IMAGE_URL")
			if _, ok := declared[prefix+"IMAGE_DIGEST"]; !ok {
				t.Errorf("result %s has no %sIMAGE_DIGEST beside it: Chains ignores an image URL without its digest", r.Name, prefix)
				continue
			}
			ref, _ := name.ParseReference(v.StringVal)
			wantSubjects[ref.Context().Name()] = fakeDigest(task.Name + prefix)
		case strings.HasSuffix(r.Name, "IMAGE_DIGEST"):
			prefix := strings.TrimSuffix(r.Name, "IMAGE_DIGEST")
			if _, ok := declared[prefix+"IMAGE_URL"]; !ok {
				t.Errorf("result %s has no %sIMAGE_URL beside it", r.Name, prefix)
			}
		case r.Name == "IMAGES":
			for _, s := range strings.Split(v.StringVal, ",") {
				d, _ := name.NewDigest(s)
				wantSubjects[d.Repository.Name()] = d.DigestStr()
			}
		case strings.HasSuffix(r.Name, "_ARTIFACT_OUTPUTS"):
			wantByproducts[r.Name] = v.ObjectVal["digest"]
		}
	}
	if t.Failed() {
		return
	}

	tr := &pipelinev1.TaskRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		ObjectMeta: metav1.ObjectMeta{Name: task.Name + "-run", Namespace: "default", UID: "00000000-0000-4000-8000-000000000001"},
		Spec:       pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: task.Name}},
	}
	start := metav1.NewTime(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	end := metav1.NewTime(start.Add(time.Minute))
	tr.Status = pipelinev1.TaskRunStatus{
		Status: duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: "True"}}},
		TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			StartTime:      &start,
			CompletionTime: &end,
			TaskSpec:       &task.Spec,
			Results:        results,
		},
	}
	for _, s := range task.Spec.Steps {
		tr.Status.Steps = append(tr.Status.Steps, pipelinev1.StepState{Name: s.Name, ImageID: s.Image})
	}
	st, err := TaskRun(context.Background(), tr, SLSA1)
	if err != nil {
		t.Fatal(err)
	}
	// A task that builds no image gives Chains no subject; Chains then
	// makes a statement without "subject" that it cannot store beside an
	// image (and that the schema rightly rejects). That is what the attest
	// step is for, so only statements with subjects are held to the schema.
	if len(wantSubjects) > 0 {
		validate(t, "slsa/slsa_provenance_v1.json", st)
	}
	sum, err := Summarize(st)
	if err != nil {
		t.Fatal(err)
	}
	gotSubjects := map[string]string{}
	for _, s := range sum.Subjects {
		gotSubjects[s.Name] = "sha256:" + s.Digest["sha256"]
	}
	if fmt.Sprint(gotSubjects) != fmt.Sprint(wantSubjects) {
		t.Errorf("Chains subjects %v, want the task's images %v", slices.Sorted(maps.Keys(gotSubjects)), slices.Sorted(maps.Keys(wantSubjects)))
	}
	gotBy := map[string]string{}
	for _, b := range sum.ByProducts {
		var obj map[string]string
		if json.Unmarshal(b.Content, &obj) == nil {
			gotBy[b.Name[strings.LastIndex(b.Name, "/")+1:]] = obj["digest"]
		}
	}
	for n, d := range wantByproducts {
		if gotBy[n] != d {
			t.Errorf("%s is not a byproduct with digest %s in the provenance (byproducts: %v)", n, d, slices.Sorted(maps.Keys(gotBy)))
		}
	}
}

// plausible makes a value of the declared type for a result, and checks
// that type hints are declared as Chains reads them.
func plausible(task string, r pipelinev1.TaskResult, declared map[string]pipelinev1.TaskResult) (*pipelinev1.ResultValue, error) {
	str := func(s string) (*pipelinev1.ResultValue, error) { return pipelinev1.NewStructuredValues(s), nil }
	isArtifact := strings.HasSuffix(r.Name, "_ARTIFACT_OUTPUTS") || strings.HasSuffix(r.Name, "_ARTIFACT_INPUTS")
	if isArtifact {
		if r.Type != pipelinev1.ResultsTypeObject {
			return nil, fmt.Errorf("result %s must be type: object (is %q)", r.Name, r.Type)
		}
		for _, p := range []string{"uri", "digest"} {
			if _, ok := r.Properties[p]; !ok {
				return nil, fmt.Errorf("result %s must declare properties.%s", r.Name, p)
			}
		}
		obj := map[string]string{}
		for p := range r.Properties {
			obj[p] = "x"
		}
		obj["uri"] = "registry.example/trustline/" + task + ":" + strings.ToLower(r.Name)
		obj["digest"] = fakeDigest(task + r.Name)
		return pipelinev1.NewObject(obj), nil
	}
	switch {
	case strings.HasSuffix(r.Name, "IMAGE_URL"):
		return str("registry.example/trustline/" + task + strings.ToLower(strings.TrimSuffix(r.Name, "IMAGE_URL")) + ":latest")
	case strings.HasSuffix(r.Name, "IMAGE_DIGEST"):
		return str(fakeDigest(task + strings.TrimSuffix(r.Name, "IMAGE_DIGEST")))
	case r.Name == "IMAGES":
		return str("registry.example/trustline/" + task + "-a@" + fakeDigest(task+"a") + ",registry.example/trustline/" + task + "-b@" + fakeDigest(task+"b"))
	case r.Name == "CHAINS-GIT_COMMIT":
		return str(strings.Repeat("ab", 20))
	case r.Name == "CHAINS-GIT_URL":
		return str("https://github.com/trustline-dev/example")
	case r.Name == "TEST_OUTPUT":
		return str(`{"result":"SUCCESS","timestamp":"2026-11-26T10:00:00Z","note":"","namespace":"default","successes":1,"failures":0,"warnings":0}`)
	}
	switch r.Type {
	case pipelinev1.ResultsTypeArray:
		return pipelinev1.NewStructuredValues("a", "b"), nil
	case pipelinev1.ResultsTypeObject:
		obj := map[string]string{}
		for p := range r.Properties {
			obj[p] = "x"
		}
		return pipelinev1.NewObject(obj), nil
	}
	return str("value")
}

// TestTypeHintCheck runs the check on a task with every kind of hint, and
// shows that wrongly declared hints are caught.
func TestTypeHintCheck(t *testing.T) {
	checkTask(t, filepath.Join("testdata", "task", "image-task.yaml"))

	declared := map[string]pipelinev1.TaskResult{}
	bad := pipelinev1.TaskResult{Name: "SBOM_ARTIFACT_OUTPUTS", Type: pipelinev1.ResultsTypeString}
	if _, err := plausible("x", bad, declared); err == nil {
		t.Error("a string *_ARTIFACT_OUTPUTS was accepted")
	}
	noDigest := pipelinev1.TaskResult{Name: "REPORT_ARTIFACT_OUTPUTS", Type: pipelinev1.ResultsTypeObject,
		Properties: map[string]pipelinev1.PropertySpec{"uri": {Type: "string"}}}
	if _, err := plausible("x", noDigest, declared); err == nil {
		t.Error("an *_ARTIFACT_OUTPUTS without a digest property was accepted")
	}
}
