package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/taskdoc"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// Resources shaped like tektoncd/catalog's and Konflux's (bundles
// references, when, finally, matrix, step results, StepActions) must pass.
func TestAcceptsPublicShapes(t *testing.T) {
	ps, err := Paths(context.Background(), []string{"testdata/good"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		t.Errorf("unexpected problem: %s", p)
	}
}

// Each bad fixture breaks one rule and must fail with its own message,
// naming the file and the field.
func TestRejectsEachBrokenRule(t *testing.T) {
	cases := map[string]struct{ field, message string }{
		"unknown-field.yaml":   {"spec.steps[0].imagePullPolicyy", `unknown field "imagePullPolicyy"`},
		"undefined-param.yaml": {"spec.steps[0].args[0]", `non-existent variable in "$(params.y)"`},
		"image-by-tag.yaml":    {"spec.steps[0].image", "is not pinned by digest"},
		"missing-command.yaml": {"spec.steps[0].command", "has no command"},
		"param-in-script.yaml": {"spec.steps[0].script", "splices $(params...) into its script"},
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", file)
			ps, err := Paths(context.Background(), []string{path})
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ps), ps)
			}
			p := ps[0]
			if p.File != path || p.Field != want.field || !strings.Contains(p.Message, want.message) {
				t.Errorf("got %q, want %s: %s: ...%s...", p.String(), path, want.field, want.message)
			}
		})
	}
}

// The repository itself passes: every task and pipeline, its README and
// the catalog agree.
func TestRepositoryIsValid(t *testing.T) {
	ps, err := Repository(context.Background(), WithRoot("../.."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		t.Errorf("%s", p)
	}
}

// A copy of a task in a scratch repository, to break one thing at a time.
func scratchRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join("..", "..", "tasks", "git-clone", "0.1")
	dst := filepath.Join(root, "tasks", "git-clone", "0.1")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"git-clone.yaml", "README.md", "CHANGELOG.md"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yaml, _ := os.ReadFile(filepath.Join(dst, "git-clone.yaml"))
	image := ""
	for _, l := range strings.Split(string(yaml), "\n") {
		if s := strings.TrimSpace(l); strings.HasPrefix(s, "image: ") {
			image = strings.TrimPrefix(s, "image: ")
		}
	}
	writeCatalog(t, root, "0.1.0", "tasks/git-clone/0.1/git-clone.yaml", image)
	return root
}

func writeCatalog(t *testing.T, root, version, path, image string) {
	t.Helper()
	c := "registry: example.com/lib\npipelines: []\ntasks:\n- name: git-clone\n  versions:\n  - version: " + version +
		"\n    path: " + path + "\n    step_images: [\"" + image + "\"]\n"
	if err := os.WriteFile(filepath.Join(root, "catalog.yaml"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
}

func problemsIn(t *testing.T, root string) []tekton.Problem {
	t.Helper()
	ps, err := Repository(context.Background(), WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func wantProblem(t *testing.T, ps []tekton.Problem, file, field, message string) {
	t.Helper()
	for _, p := range ps {
		if p.File == file && p.Field == field && strings.Contains(p.Message, message) {
			return
		}
	}
	t.Errorf("no problem %s: %s: ...%s... among %v", file, field, message, ps)
}

func TestScratchRepositoryStartsValid(t *testing.T) {
	if ps := problemsIn(t, scratchRepo(t)); len(ps) > 0 {
		t.Fatalf("scratch copy should be valid: %v", ps)
	}
}

func TestReadmeDrift(t *testing.T) {
	root := scratchRepo(t)
	yamlPath := filepath.Join(root, "tasks/git-clone/0.1/git-clone.yaml")
	b, _ := os.ReadFile(yamlPath)
	b = []byte(strings.Replace(string(b), "The full SHA of the commit checked out.", "The commit.", 1))
	os.WriteFile(yamlPath, b, 0o644)
	wantProblem(t, problemsIn(t, root), "tasks/git-clone/0.1/README.md", "(content)", "out of date")

	// Regenerating fixes it and keeps hand-written text.
	readme := filepath.Join(root, "tasks/git-clone/0.1/README.md")
	old, _ := os.ReadFile(readme)
	kept := strings.Replace(string(old), "<!-- trustline:keep -->\n", "<!-- trustline:keep -->\n## Notes\n\nHand-written.\n", 1)
	os.WriteFile(readme, []byte(kept), 0o644)
	changed, err := taskdoc.WriteReadmes(context.Background(), root)
	if err != nil || len(changed) != 1 {
		t.Fatalf("taskdoc.WriteReadmes = %v, %v", changed, err)
	}
	if ps := problemsIn(t, root); len(ps) > 0 {
		t.Errorf("after docs: %v", ps)
	}
	now, _ := os.ReadFile(readme)
	if !strings.Contains(string(now), "Hand-written.") || !strings.Contains(string(now), "The commit.") {
		t.Errorf("regenerated README lost kept text or the new description:\n%s", now)
	}
}

func TestCatalogMustMatchTree(t *testing.T) {
	root := scratchRepo(t)
	writeCatalog(t, root, "0.1.0", "tasks/git-clone/0.1/git-clone.yaml", "example.com/other@sha256:"+strings.Repeat("a", 64))
	wantProblem(t, problemsIn(t, root), "catalog.yaml", "tasks[git-clone].versions[0.1.0].step_images", "differ from the images")

	writeCatalog(t, root, "0.2.0", "tasks/git-clone/0.2/git-clone.yaml", "x")
	ps := problemsIn(t, root)
	wantProblem(t, ps, "catalog.yaml", "tasks[git-clone]", "version 0.1.0 (tasks/git-clone/0.1/git-clone.yaml) is not in the catalog")
	wantProblem(t, ps, "catalog.yaml", "tasks[git-clone].versions[0.2.0].path", "does not exist")

	os.Remove(filepath.Join(root, "catalog.yaml"))
	wantProblem(t, problemsIn(t, root), "catalog.yaml", "(file)", "missing")
}

func TestLayoutAndVersionLabel(t *testing.T) {
	root := scratchRepo(t)
	yamlPath := filepath.Join(root, "tasks/git-clone/0.1/git-clone.yaml")
	b, _ := os.ReadFile(yamlPath)
	os.WriteFile(yamlPath, []byte(strings.Replace(string(b), `"0.1.0"`, `"0.2.0"`, 1)), 0o644)
	ps := problemsIn(t, root)
	wantProblem(t, ps, "tasks/git-clone/0.1/git-clone.yaml", "metadata.labels.app.kubernetes.io/version", "does not belong in directory 0.1/")
	wantProblem(t, ps, "tasks/git-clone/0.1/CHANGELOG.md", "## 0.2.0", "no entry for version 0.2.0")

	os.WriteFile(yamlPath, []byte(strings.Replace(string(b), "name: git-clone\n", "name: git-klone\n", 1)), 0o644)
	wantProblem(t, problemsIn(t, root), "tasks/git-clone/0.1/git-clone.yaml", "metadata.name", `is "git-klone" but the directory says "git-clone"`)
}

func TestConventionRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	digest := "@sha256:" + strings.Repeat("1", 64)
	head := `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: t
  annotations:
    tekton.dev/pipelines.minVersion: "0.59.0"
    tekton.dev/categories: Build
    tekton.dev/tags: x
    tekton.dev/displayName: T
    tekton.dev/platforms: linux/amd64
spec:
`
	cases := []struct {
		name, body, field, message string
	}{
		{"privileged", head + "  description: Builds things.\n  steps:\n  - name: s\n    image: x" + digest + "\n    command: [/x]\n    securityContext:\n      privileged: true\n",
			"spec.description", "runs as root or with privileges"},
		{"image-pair", head + "  description: d\n  results:\n  - name: IMAGE_URL\n    description: u\n  steps:\n  - name: s\n    image: x" + digest + "\n    command: [/x]\n",
			"spec.results[0]", `needs its pair "IMAGE_DIGEST"`},
		{"artifact-type", head + "  description: d\n  results:\n  - name: SBOM_ARTIFACT_OUTPUTS\n    description: u\n  steps:\n  - name: s\n    image: x" + digest + "\n    command: [/x]\n",
			"spec.results[0].type", "must be an object {uri, digest}"},
		{"param-description", head + "  description: d\n  params:\n  - name: p\n  steps:\n  - name: s\n    image: x" + digest + "\n    command: [/x]\n",
			"spec.params[0].description", `param "p" has no description`},
		{"annotation", strings.Replace(head, "    tekton.dev/platforms: linux/amd64\n", "", 1) + "  description: d\n  steps:\n  - name: s\n    image: x" + digest + "\n    command: [/x]\n",
			"metadata.annotations.tekton.dev/platforms", "missing Tekton catalog annotation"},
		{"bundle-by-tag", `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: r
spec:
  pipelineRef:
    resolver: bundles
    params:
    - name: bundle
      value: quay.io/x/pipeline:1.0
    - name: name
      value: p
    - name: kind
      value: pipeline
`, "spec.pipelineRef.params[0]", "is not pinned by digest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(c.name+".yaml", c.body)
			ps, err := Paths(context.Background(), []string{p}, WithRoot(dir))
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(t, ps, c.name+".yaml", c.field, c.message)
			if len(ps) != 1 {
				t.Errorf("want exactly one problem, got %v", ps)
			}
		})
	}
}

// --tekton-only accepts what Tekton accepts even when conventions fail.
func TestTektonOnly(t *testing.T) {
	path := filepath.Join("testdata", "bad", "image-by-tag.yaml")
	ps, err := Paths(context.Background(), []string{path}, TektonOnly())
	if err != nil || len(ps) != 0 {
		t.Fatalf("tekton-only: %v %v", ps, err)
	}
	ps, _ = Paths(context.Background(), []string{filepath.Join("testdata", "bad", "undefined-param.yaml")}, TektonOnly())
	if len(ps) != 1 {
		t.Fatalf("tekton-only must still apply Tekton's validation: %v", ps)
	}
}

// Every rule's link lands on a section of docs/task-conventions.md.
func TestEveryRuleHasItsSection(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ConventionsDoc))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules {
		if !strings.Contains(string(b), "\n### "+r.ID+" "+r.Title+"\n") {
			t.Errorf("%s has no section %q", r.ID, "### "+r.ID+" "+r.Title)
		}
	}
	if got := (Rule{"TL014", "catalog.yaml out of step with the tree"}).Anchor(); got != "tl014-catalogyaml-out-of-step-with-the-tree" {
		t.Errorf("anchor = %q", got)
	}
}

// A convention finding carries its rule, title, link and line; a Tekton
// error carries none of the rule fields.
func TestConventionFindingsAreMarked(t *testing.T) {
	ps, err := Paths(context.Background(), []string{filepath.Join("testdata", "bad", "image-by-tag.yaml")})
	if err != nil || len(ps) != 1 {
		t.Fatalf("%v %v", ps, err)
	}
	p := ps[0]
	if p.Rule != "TL003" || p.Title != "image not pinned by digest" || p.URL != "docs/task-conventions.md#tl003-image-not-pinned-by-digest" || p.Line == 0 || p.Doc != 1 {
		t.Errorf("problem = %+v", p)
	}
	if s := p.String(); !strings.Contains(s, ": [doc 1] spec.steps[0].image: TL003 image not pinned by digest: ") {
		t.Errorf("String() = %q", s)
	}
	ps, _ = Paths(context.Background(), []string{filepath.Join("testdata", "bad", "undefined-param.yaml")})
	if len(ps) != 1 || ps[0].Rule != "" || ps[0].URL != "" {
		t.Errorf("a Tekton error must not look like a convention: %+v", ps)
	}
}

// --tekton-only over the repository does not look at catalog.yaml.
func TestTektonOnlyRepositoryLeavesCatalogAlone(t *testing.T) {
	root := scratchRepo(t)
	os.Remove(filepath.Join(root, "catalog.yaml"))
	ps, err := Repository(context.Background(), WithRoot(root), TektonOnly())
	if err != nil || len(ps) != 0 {
		t.Fatalf("tekton-only: %v %v", ps, err)
	}
	wantProblem(t, problemsIn(t, root), "catalog.yaml", "(file)", "missing")
}
