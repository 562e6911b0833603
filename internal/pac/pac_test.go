package pac

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/validate"
)

var bundleRef = "ghcr.io/trustline-dev/pipeline-docker-build:0.1@sha256:" + strings.Repeat("ab", 32)

func TestGenerateIsValidAndTriggered(t *testing.T) {
	root := t.TempDir()
	files, err := Generate(Options{Name: "my-app", Image: "quay.io/acme/my-app", PipelineBundle: bundleRef, Dockerfile: "Containerfile", Hermetic: true})
	if err != nil {
		t.Fatal(err)
	}
	written, err := Write(root, files, false)
	if err != nil || len(written) != 2 {
		t.Fatalf("%v %v", written, err)
	}
	// trustline validate accepts them, conventions included.
	ps, err := validate.Paths(context.Background(), []string{filepath.Join(root, Dir)}, validate.WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		t.Errorf("validate: %s", p)
	}
	want := map[string]struct{ cel, image string }{
		".tekton/my-app-pull-request.yaml": {`event == "pull_request" && target_branch == "main"`, "quay.io/acme/my-app:on-pr-{{revision}}"},
		".tekton/my-app-push.yaml":         {`event == "push" && target_branch == "main"`, "quay.io/acme/my-app:{{revision}}"},
	}
	for _, f := range files {
		var pr v1.PipelineRun
		if err := yaml.UnmarshalStrict(f.Content, &pr); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		w, ok := want[f.Path]
		if !ok {
			t.Fatalf("unexpected file %s", f.Path)
		}
		if got := pr.Annotations["pipelinesascode.tekton.dev/on-cel-expression"]; got != w.cel {
			t.Errorf("%s: cel %q", f.Path, got)
		}
		params := map[string]string{}
		for _, p := range pr.Spec.Params {
			params[p.Name] = p.Value.StringVal
		}
		if params["git-url"] != "{{repo_url}}" || params["revision"] != "{{revision}}" || params["output-image"] != w.image || params["hermetic"] != "true" || params["dockerfile"] != "Containerfile" {
			t.Errorf("%s: params %v", f.Path, params)
		}
		ref := pr.Spec.PipelineRef
		if ref == nil || ref.Resolver != "bundles" || ref.Params[0].Value.StringVal != bundleRef || ref.Params[1].Value.StringVal != "docker-build" || ref.Params[2].Value.StringVal != "pipeline" {
			t.Errorf("%s: pipelineRef %+v", f.Path, ref)
		}
	}
	// A second init does not overwrite without --force.
	if _, err := Write(root, files, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("overwrote: %v", err)
	}
}

// The pipeline's own param names are the ones the PipelineRuns set.
func TestParamsMatchThePipeline(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "pipelines", "docker-build", "0.1", "docker-build.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p v1.Pipeline
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, ps := range p.Spec.Params {
		declared[ps.Name] = true
	}
	ws := map[string]bool{}
	for _, w := range p.Spec.Workspaces {
		ws[w.Name] = true
	}
	files, _ := Generate(Options{Name: "a", Image: "r/a", PipelineBundle: bundleRef})
	var pr v1.PipelineRun
	if err := yaml.Unmarshal(files[0].Content, &pr); err != nil {
		t.Fatal(err)
	}
	for _, prm := range pr.Spec.Params {
		if !declared[prm.Name] {
			t.Errorf("PipelineRun sets %q, which docker-build does not declare", prm.Name)
		}
	}
	for _, w := range pr.Spec.Workspaces {
		if !ws[w.Name] {
			t.Errorf("PipelineRun binds workspace %q, which docker-build does not declare", w.Name)
		}
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Name: "My App", Image: "r/a", PipelineBundle: bundleRef},
		{Name: "a", Image: "r/a:latest", PipelineBundle: bundleRef},
		{Name: "a", Image: "r/a", PipelineBundle: "ghcr.io/x/pipeline-docker-build:0.1"},
		{Name: "a", Image: "r/a", PipelineBundle: bundleRef, Branch: "main\" || true"},
	} {
		if _, err := Generate(o); err == nil {
			t.Errorf("accepted %+v", o)
		}
	}
	c := &catalog.Catalog{Pipelines: []catalog.Entry{{Name: "docker-build", Versions: []catalog.Version{{Version: "0.1.0"}}}}}
	if _, err := BundleFromCatalog(c, "docker-build"); err == nil || !strings.Contains(err.Error(), "not published") {
		t.Errorf("unpublished: %v", err)
	}
	c.Pipelines[0].Versions[0].Bundle = bundleRef
	if b, err := BundleFromCatalog(c, "docker-build"); err != nil || b != bundleRef {
		t.Errorf("%s %v", b, err)
	}
}

func TestNameFrom(t *testing.T) {
	for in, want := range map[string]string{"My_App.v2": "my-app-v2", "tmp.rwszn3huo2": "tmp-rwszn3huo2", "--x--": "x"} {
		if got := NameFrom(in); got != want {
			t.Errorf("NameFrom(%q) = %q, want %q", in, got, want)
		}
	}
}
