package publish

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonbundle "github.com/tektoncd/pipeline/pkg/resolution/resolver/bundle"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/tekton"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/validate"
)

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// scratchRepo is a Git repository holding the git-clone task, a pipeline
// using it through a placeholder bundle reference, and a stand-in step
// binary (any ELF executable will do: StepImage packs what it is given).
func scratchRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"git-clone.yaml", "CHANGELOG.md"} {
		copyFile(t, filepath.Join("..", "..", "..", "tasks", "git-clone", "0.1", f), filepath.Join(root, "tasks", "git-clone", "0.1", f))
	}
	for _, f := range []string{"clone-only.yaml", "CHANGELOG.md"} {
		copyFile(t, filepath.Join("testdata", "pipelines", "clone-only", "0.1", f), filepath.Join(root, "pipelines", "clone-only", "0.1", f))
	}
	copyFile(t, "/bin/true", filepath.Join(root, "bin", "git-clone"))
	// A manifest outside the catalog running a step image, as deploy/gate.yaml.
	os.MkdirAll(filepath.Join(root, "deploy"), 0o755)
	os.WriteFile(filepath.Join(root, DeployFiles[0]), []byte("image: ghcr.io/trustline-dev/step-git-clone@sha256:"+strings.Repeat("0", 64)+"\n"), 0o644)
	commit(t, root, "first")
	return root
}

func commit(t testing.TB, root, msg string) string {
	t.Helper()
	repo, err := git.PlainOpen(root)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(root, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{AllowEmptyCommits: true, Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1e9, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "/.git/") || strings.Contains(p, "/bin/") {
			return nil
		}
		b, _ := os.ReadFile(p)
		out[p] = string(b)
		return nil
	})
	return out
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	root := scratchRepo(t)
	reg := testregistry.Start(t) + "/trustline"
	signer := signingtest.NewSigner(t)
	day := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	opts := []Option{WithRegistry(reg), WithSigner(signer), WithClock(func() time.Time { return day })}

	rep, err := Publish(ctx, root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	stepRef := rep.StepImages["git-clone"]
	if !strings.HasPrefix(stepRef, reg+"/step-git-clone@sha256:") {
		t.Fatalf("step image %q", stepRef)
	}
	task, _ := os.ReadFile(filepath.Join(root, "tasks/git-clone/0.1/git-clone.yaml"))
	if !strings.Contains(string(task), "image: "+stepRef) {
		t.Errorf("task YAML does not pin %s", stepRef)
	}
	if gate, _ := os.ReadFile(filepath.Join(root, DeployFiles[0])); string(gate) != "image: "+stepRef+"\n" {
		t.Errorf("%s does not pin %s: %s", DeployFiles[0], stepRef, gate)
	}
	c, err := catalog.Load(filepath.Join(root, catalog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry != reg {
		t.Errorf("catalog registry %q", c.Registry)
	}
	tv := c.Find(catalog.KindTask, "git-clone", "0.1.0")
	pv := c.Find(catalog.KindPipeline, "clone-only", "0.1.0")
	if tv == nil || pv == nil || len(tv.Published) != 1 || len(pv.Published) != 1 {
		t.Fatalf("catalog after publish: %+v %+v", tv, pv)
	}
	if !strings.HasPrefix(tv.Bundle, reg+"/task-git-clone:0.1@sha256:") || tv.Published[0].Commit != rep.Commit || tv.ContentDigest == "" {
		t.Errorf("task entry %+v", tv)
	}
	// The pipeline now references the task bundle just published.
	pl, _ := os.ReadFile(filepath.Join(root, "pipelines/clone-only/0.1/clone-only.yaml"))
	if !strings.Contains(string(pl), "value: "+tv.Bundle) {
		t.Errorf("pipeline does not reference %s:\n%s", tv.Bundle, pl)
	}
	if inc := pv.Published[0].Includes; len(inc) != 1 || inc[0] != tv.Bundle {
		t.Errorf("pipeline publication includes %v, want [%s]", inc, tv.Bundle)
	}
	// Tekton's resolver reads both bundles, and the immutable tag exists.
	for _, tc := range []struct{ ref, kind, name string }{{tv.Bundle, "task", "git-clone"}, {pv.Bundle, "pipeline", "clone-only"}} {
		if _, err := tektonbundle.GetEntry(ctx, authn.DefaultKeychain, tektonbundle.RequestOptions{Bundle: tc.ref, EntryName: tc.name, Kind: tc.kind}); err != nil {
			t.Errorf("resolving %s: %v", tc.ref, err)
		}
	}
	imm, _ := name.ParseReference(reg + "/task-git-clone:0.1-" + rep.Commit)
	if d, err := remote.Head(imm); err != nil || "sha256:"+d.Digest.Hex != tv.Published[0].Digest {
		t.Errorf("immutable tag: %v %v", d, err)
	}
	// Bundles are signed with the key.
	dig, _ := name.NewDigest(tv.Bundle)
	sigs, err := cosignoci.New().Signatures(ctx, dig)
	if err != nil || len(sigs) != 1 {
		t.Fatalf("signatures: %v %v", sigs, err)
	}
	ver, _ := signer.Verifier()
	if _, err := sigs[0].Verify(ctx, ver, dig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	atts, err := cosignoci.New().Attestations(ctx, dig)
	if err != nil || len(atts) != 1 {
		t.Fatalf("attestations: %v %v", atts, err)
	}
	st, err := atts[0].Verify(ctx, ver, dig)
	if err != nil || st.PredicateType != "https://slsa.dev/provenance/v1" || !strings.Contains(string(st.Predicate), rep.Commit) || !strings.Contains(string(st.Predicate), "tasks/git-clone/0.1/git-clone.yaml") {
		t.Errorf("provenance: %v %+v", err, st)
	}
	// The published tree passes trustline validate.
	ps, err := validate.Repository(ctx, validate.WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		t.Errorf("validate: %s", p)
	}

	// Publishing the same tree again changes nothing and pushes nothing.
	before := snapshot(t, root)
	rep2, err := Publish(ctx, root, append(opts, WithClock(func() time.Time { return day.Add(time.Hour) }))...)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rep2.Bundles {
		if b.Pushed {
			t.Errorf("second publish pushed %+v", b)
		}
	}
	if after := snapshot(t, root); len(after) != len(before) {
		t.Errorf("second publish changed the file set")
	} else {
		for f, s := range before {
			if after[f] != s {
				t.Errorf("second publish changed %s", f)
			}
		}
	}
	stepDig, _ := name.NewDigest(stepRef)
	for _, d := range []name.Digest{dig, stepDig} {
		if sigs, _ := cosignoci.New().Signatures(ctx, d); len(sigs) != 1 {
			t.Errorf("%s: second publish left %d signatures", d, len(sigs))
		}
		if atts, _ := cosignoci.New().Attestations(ctx, d); len(atts) != 1 {
			t.Errorf("%s: second publish left %d attestations", d, len(atts))
		}
	}

	// Changing the task without a new version is refused by publish and
	// reported by validate.
	tp := filepath.Join(root, "tasks/git-clone/0.1/git-clone.yaml")
	changed := strings.Replace(string(task), "Clones a Git repository", "Clones one Git repository", 1)
	os.WriteFile(tp, []byte(changed), 0o644)
	if _, err := Publish(ctx, root, opts...); !errors.Is(err, ErrChangedWithoutVersion) {
		t.Errorf("publish of a changed version: %v", err)
	}
	ps, _ = validate.Repository(ctx, validate.WithRoot(root))
	if !hasProblem(ps, "tasks/git-clone/0.1/git-clone.yaml", "changed but its version is still 0.1.0") {
		t.Errorf("validate missed the change: %v", ps)
	}

	// With a new version and CHANGELOG entry, publish supersedes the old
	// digest, which stays trusted for the grace period.
	os.WriteFile(tp, []byte(strings.Replace(changed, `app.kubernetes.io/version: "0.1.0"`, `app.kubernetes.io/version: "0.1.1"`, 1)), 0o644)
	cl := filepath.Join(root, "tasks/git-clone/0.1/CHANGELOG.md")
	old, _ := os.ReadFile(cl)
	os.WriteFile(cl, []byte(strings.Replace(string(old), "## 0.1.0", "## 0.1.1\n\n- Reworded the description.\n\n## 0.1.0", 1)), 0o644)
	commit(t, root, "0.1.1")
	later := day.Add(48 * time.Hour)
	if _, err := Publish(ctx, root, append(opts, WithClock(func() time.Time { return later }))...); err != nil {
		t.Fatal(err)
	}
	c, _ = catalog.Load(filepath.Join(root, catalog.FileName))
	tv = c.Find(catalog.KindTask, "git-clone", "0.1.1")
	if tv == nil || len(tv.Published) != 2 || tv.Published[0].SupersededOn == "" || tv.Published[1].Version != "0.1.1" {
		t.Fatalf("after 0.1.1: %+v", tv)
	}
	rd, err := c.TrustedTasks(catalog.DefaultGrace)
	if err != nil {
		t.Fatal(err)
	}
	recs := rd.TrustedTasks["oci://"+reg+"/task-git-clone:0.1"]
	if len(recs) != 2 || recs[0].ExpiresOn != "" || recs[1].ExpiresOn != "2027-01-02T12:00:00Z" {
		t.Errorf("trusted tasks: %+v", recs)
	}
	ps, _ = validate.Repository(ctx, validate.WithRoot(root))
	for _, p := range ps {
		t.Errorf("validate after 0.1.1: %s", p)
	}
}

func hasProblem(ps []tekton.Problem, file, msg string) bool {
	for _, p := range ps {
		if p.File == file && strings.Contains(p.Message, msg) {
			return true
		}
	}
	return false
}

func TestPublishNeedsBinaries(t *testing.T) {
	root := scratchRepo(t)
	os.Remove(filepath.Join(root, "bin", "git-clone"))
	before := snapshot(t, root)
	_, err := Publish(context.Background(), root, WithRegistry(testregistry.Start(t)+"/x"), WithProgress(io.Discard))
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("error %v", err)
	}
	after := snapshot(t, root)
	for f, s := range before {
		if after[f] != s {
			t.Errorf("failed publish changed %s", f)
		}
	}
}

// Every published version in the repository's own catalog records its
// content digest, so a change to it without a new version cannot go
// unnoticed by trustline validate.
func TestRepositoryCatalogIsSynced(t *testing.T) {
	c, err := catalog.Load(filepath.Join("..", "..", "..", catalog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{catalog.KindTask, catalog.KindPipeline} {
		for _, e := range c.Entries(kind) {
			for _, v := range e.Versions {
				if len(v.Published) > 0 && v.ContentDigest == "" {
					t.Errorf("%ss[%s] %s is published but has no content_digest: run `trustline catalog sync`", kind, e.Name, v.Version)
				}
			}
		}
	}
}

// repositoryTree is a Git repository holding a copy of the repository's
// tasks, pipelines and catalog, with /bin/true standing in for every step
// binary they pin.
func repositoryTree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	copyTree(t, root)
	items, err := Tree(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		for _, img := range it.StepImages {
			if m := stepPin.FindStringSubmatch(img); m != nil {
				copyFile(t, "/bin/true", filepath.Join(root, "bin", m[2]))
			}
		}
	}
	commit(t, root, "tree")
	return root
}

// copyTree copies the repository's tasks/ and pipelines/ and catalog.yaml.
func copyTree(t testing.TB, dst string) {
	t.Helper()
	src := filepath.Join("..", "..", "..")
	for _, dir := range []string{"tasks", "pipelines"} {
		err := filepath.WalkDir(filepath.Join(src, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			copyFile(t, p, filepath.Join(dst, rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(src, catalog.FileName), filepath.Join(dst, catalog.FileName))
}

// The repository's own tasks and docker-build pipeline publish, the
// pipeline's task references are pinned to the bundles just pushed, and
// Tekton's resolver reads the pipeline and every task it references.
func TestPublishRepositoryTree(t *testing.T) {
	ctx := context.Background()
	root := repositoryTree(t)
	reg := testregistry.Start(t) + "/trustline"
	if _, err := Publish(ctx, root, WithRegistry(reg)); err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Load(filepath.Join(root, catalog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	pv := c.Find(catalog.KindPipeline, "docker-build", "0.1.0")
	if pv == nil || pv.Bundle == "" {
		t.Fatalf("docker-build not published: %+v", pv)
	}
	got, err := tektonbundle.GetEntry(ctx, authn.DefaultKeychain, tektonbundle.RequestOptions{Bundle: pv.Bundle, EntryName: "docker-build", Kind: "pipeline"})
	if err != nil {
		t.Fatal(err)
	}
	var p pipelinev1.Pipeline
	if err := json.Unmarshal(got.Data(), &p); err != nil {
		t.Fatal(err)
	}
	resolved := 0
	for _, pt := range p.Spec.Tasks {
		var bundleRef, name string
		for _, prm := range pt.TaskRef.Params {
			switch prm.Name {
			case "bundle":
				bundleRef = prm.Value.StringVal
			case "name":
				name = prm.Value.StringVal
			}
		}
		if !hasTask(c, name) {
			continue // a task not in this tree yet keeps its placeholder
		}
		if !strings.HasPrefix(bundleRef, reg+"/task-"+name+":0.1@sha256:") {
			t.Errorf("pipeline task %s references %s", pt.Name, bundleRef)
			continue
		}
		if _, err := tektonbundle.GetEntry(ctx, authn.DefaultKeychain, tektonbundle.RequestOptions{Bundle: bundleRef, EntryName: name, Kind: "task"}); err != nil {
			t.Errorf("pipeline task %s: %v", pt.Name, err)
		}
		resolved++
	}
	if resolved < 5 {
		t.Errorf("only %d pipeline tasks resolved", resolved)
	}
}

func hasTask(c *catalog.Catalog, name string) bool {
	for _, e := range c.Tasks {
		if e.Name == name {
			return true
		}
	}
	return false
}

// The same binary gives the same step image, which runs the binary.
func TestStepImageReproducible(t *testing.T) {
	a, err := StepImage("/bin/true", "true", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := StepImage("/bin/true", "true", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds: %s and %s", da, db)
	}
	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Entrypoint[0] != "/usr/local/bin/true" || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config %+v", cf.Config)
	}
	notELF := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755)
	if _, err := StepImage(notELF, "x", time.Unix(0, 0)); err == nil {
		t.Error("built a step image from a file that is not an executable")
	}
}

func TestSyncCheckWritesNothing(t *testing.T) {
	root := scratchRepo(t)
	changes, err := Check(root, nil)
	if err != nil || len(changes) != 2 {
		t.Fatalf("check: %v %v", changes, err)
	}
	if _, err := os.Stat(filepath.Join(root, catalog.FileName)); err == nil {
		t.Fatal("Check wrote catalog.yaml")
	}
	if _, err := Sync(root, nil); err != nil {
		t.Fatal(err)
	}
	if changes, err := Check(root, nil); err != nil || len(changes) != 0 {
		t.Errorf("after sync: %v %v", changes, err)
	}
}
