package catalog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const pipelineA = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: a
spec:
  tasks:
    - name: clone
      taskRef:
        resolver: bundles
        params:
          - name: bundle
            value: ghcr.io/acme/task-git-clone:0.1@sha256:` + "0000000000000000000000000000000000000000000000000000000000000000" + `
          - name: name
            value: git-clone
          - name: kind
            value: task
    - name: build
      taskRef:
        name: build-image
    - name: inline
      taskSpec:
        steps:
          - name: s
            image: example.com/i@sha256:` + "0000000000000000000000000000000000000000000000000000000000000000" + `
            script: "true"
  finally:
    - name: scan-it
      taskRef:
        name: scan
`

const pipelineB = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: b
spec:
  tasks:
    - name: clone
      taskRef:
        name: git-clone
    - name: build
      taskRef:
        name: build-image
`

func TestConformaData(t *testing.T) {
	root := t.TempDir()
	for p, c := range map[string]string{"pipelines/a/0.1/a.yaml": pipelineA, "pipelines/b/0.2/b.yaml": pipelineB, "pipelines/b/0.1/b.yaml": pipelineB} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	c := &Catalog{Registry: "ghcr.io/acme",
		Tasks: []Entry{
			{Name: "scan", Versions: []Version{{Version: "0.1.0", StepImages: []string{"ghcr.io/acme/step-scan@" + d("1")},
				Published: []Publication{{Digest: d("a"), On: "2026-01-01"}}}}},
			{Name: "build-image", Versions: []Version{{Version: "0.1.0", StepImages: []string{"quay.io/other/buildah:1@" + d("2"), "ghcr.io/acme/step-build@" + d("3")}}}},
		},
		Pipelines: []Entry{
			{Name: "a", Versions: []Version{{Version: "0.1.0", Path: "pipelines/a/0.1/a.yaml"}}},
			{Name: "b", Versions: []Version{
				{Version: "0.1.0", Path: "pipelines/b/0.1/b.yaml", Published: []Publication{{Digest: d("b"), On: "2026-02-01"}, {Digest: d("c"), On: "2026-01-15"}}},
				{Version: "0.2.0", Path: "pipelines/b/0.2/b.yaml", Published: []Publication{{Digest: d("e"), On: "2026-03-01T12:00:00Z"}}},
			}},
		},
	}
	unpublished := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := c.ConformaData(ConformaOptions{Root: root, Grace: DefaultGrace, UnpublishedOn: unpublished, AllowedRegistries: []string{"registry.access.redhat.com/", " "}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]RequiredTasks{
		// Unpublished: its newest version from UnpublishedOn; the inline task has no name.
		"a": {{EffectiveOn: "2026-01-01T00:00:00Z", Tasks: []string{"build-image", "git-clone", "scan"}}},
		// One entry per published version, from its first publication.
		"b": {{EffectiveOn: "2026-01-15T00:00:00Z", Tasks: []string{"build-image", "git-clone"}},
			{EffectiveOn: "2026-03-01T12:00:00Z", Tasks: []string{"build-image", "git-clone"}}},
	}
	if !reflect.DeepEqual(got.PipelineRequiredTasks, want) {
		t.Errorf("pipeline-required-tasks %+v, want %+v", got.PipelineRequiredTasks, want)
	}
	if r := got.RequiredTasks; len(r) != 1 || r[0].EffectiveOn != "2026-03-01T12:00:00Z" || strings.Join(r[0].Tasks, ",") != "build-image,git-clone" {
		t.Errorf("required-tasks %+v: the Tasks every pipeline runs", r)
	}
	if p := got.RuleData.AllowedStepImageRegistryPrefixes; strings.Join(p, ",") != "ghcr.io/acme/,quay.io/other/" {
		t.Errorf("allowed_step_image_registry_prefixes %v", p)
	}
	if p := got.RuleData.AllowedRegistryPrefixes; strings.Join(p, ",") != "registry.access.redhat.com/" {
		t.Errorf("allowed_registry_prefixes %v", p)
	}
	if len(got.TrustedTasks["oci://ghcr.io/acme/task-scan:0.1"]) != 1 {
		t.Errorf("trusted_tasks %v", got.TrustedTasks)
	}
	// The keys and shapes Conforma's release policy reads (policy/lib/tekton,
	// policy/release/tasks, rule_data): top-level trusted_tasks,
	// pipeline-required-tasks and required-tasks, entries with an RFC 3339
	// effective_on and a non-empty list of unique task names, and
	// rule_data with the registry prefixes.
	b, _ := json.Marshal(got)
	var doc map[string]any
	json.Unmarshal(b, &doc)
	for _, k := range []string{"trusted_tasks", "pipeline-required-tasks", "required-tasks", "rule_data"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %q key in %s", k, b)
		}
	}
	check := func(where string, e any) {
		m := e.(map[string]any)
		if _, err := time.Parse(time.RFC3339, m["effective_on"].(string)); err != nil {
			t.Errorf("%s: effective_on %v", where, m["effective_on"])
		}
		tasks := m["tasks"].([]any)
		seen := map[any]bool{}
		for _, n := range tasks {
			if seen[n] {
				t.Errorf("%s: %v twice", where, n)
			}
			seen[n] = true
		}
		if len(tasks) == 0 || len(m) != 2 {
			t.Errorf("%s: %v", where, m)
		}
	}
	for name, list := range doc["pipeline-required-tasks"].(map[string]any) {
		for _, e := range list.([]any) {
			check(name, e)
		}
	}
	for _, e := range doc["required-tasks"].([]any) {
		check("required-tasks", e)
	}

	// Errors name the pipeline and version.
	c.Pipelines[0].Versions[0].Path = "pipelines/a/0.1/missing.yaml"
	if _, err := c.ConformaData(ConformaOptions{Root: root}); err == nil || !strings.Contains(err.Error(), "pipelines[a].versions[0.1.0]") {
		t.Errorf("missing pipeline file: %v", err)
	}
	os.WriteFile(filepath.Join(root, "pipelines/a/0.1/bad.yaml"), []byte(strings.Replace(pipelineB, "name: git-clone", "resolver: git", 1)), 0o644)
	c.Pipelines[0].Versions[0].Path = "pipelines/a/0.1/bad.yaml"
	if _, err := c.ConformaData(ConformaOptions{Root: root}); err == nil || !strings.Contains(err.Error(), `task "clone": its taskRef names no Task`) {
		t.Errorf("nameless taskRef: %v", err)
	}
}
