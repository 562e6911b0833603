package outdated

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/catalog"
)

func dg(c string) string { return "sha256:" + strings.Repeat(c, 64) }

func testCatalog() *catalog.Catalog {
	return &catalog.Catalog{Registry: "ghcr.io/acme", Tasks: []catalog.Entry{
		{Name: "build", Versions: []catalog.Version{
			{Version: "0.1.1", Path: "tasks/build/0.1/build.yaml", Bundle: "ghcr.io/acme/task-build:0.1@" + dg("b"),
				Published: []catalog.Publication{
					{Digest: dg("a"), On: "2026-10-01T00:00:00Z", SupersededOn: "2026-11-01T00:00:00Z", Version: "0.1.0"},
					{Digest: dg("b"), On: "2026-11-01T00:00:00Z", Version: "0.1.1"},
				}},
			{Version: "0.2.0", Path: "tasks/build/0.2/build.yaml", Bundle: "ghcr.io/acme/task-build:0.2@" + dg("c"),
				Published: []catalog.Publication{{Digest: dg("c"), On: "2026-11-10T00:00:00Z", Version: "0.2.0"}}},
		}},
		{Name: "old", Versions: []catalog.Version{
			{Version: "1.0.0", Path: "tasks/old/1.0/old.yaml", Bundle: "ghcr.io/acme/task-old:1.0@" + dg("d"), Deprecated: true, Replacement: "task new", ExpiresOn: "2026-12-01",
				Published: []catalog.Publication{{Digest: dg("d"), On: "2026-01-01T00:00:00Z", Version: "1.0.0"}}},
		}},
		{Name: "fresh", Versions: []catalog.Version{
			{Version: "0.1.0", Path: "tasks/fresh/0.1/fresh.yaml", Bundle: "ghcr.io/acme/task-fresh:0.1@" + dg("e"),
				Published: []catalog.Publication{{Digest: dg("e"), On: "2026-01-01T00:00:00Z", Version: "0.1.0"}}},
		}},
	}}
}

const pipelineRun = `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: x
spec:
  pipelineSpec:
    tasks:
      - name: build
        taskRef:
          resolver: bundles
          params:
            - {name: bundle, value: "ghcr.io/acme/task-build:0.1@` + "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `"}
      - name: old
        taskRef:
          resolver: bundles
          params:
            - name: bundle
              value: ghcr.io/acme/task-old:1.0@` + "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" + `
      - name: fresh
        taskRef:
          bundle: ghcr.io/acme/task-fresh:0.1@` + "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" + `
      - name: unknown
        taskRef:
          resolver: bundles
          params:
            - name: bundle
              value: ghcr.io/acme/task-fresh:0.1@` + "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" + `
      - name: elsewhere
        taskRef:
          resolver: bundles
          params:
            - name: bundle
              value: quay.io/other/task-build:0.1@` + "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" + `
`

func TestCheckAndFix(t *testing.T) {
	root := t.TempDir()
	for dir, md := range map[string]string{
		"tasks/build/0.1": "# build\n\n## 0.1.1\n\n- Fixed the cache path.\n\n## 0.1.0\n\n- First.\n",
		"tasks/build/0.2": "# build\n\n## 0.2.0\n\n- Renamed param `context` to `path-context`.\n",
	} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		os.WriteFile(filepath.Join(root, dir, "CHANGELOG.md"), []byte(md), 0o644)
	}
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	fs := Check(testCatalog(), "run.yaml", []byte(pipelineRun), WithRoot(root), WithNow(now))
	if len(fs) != 3 {
		t.Fatalf("findings %+v", fs)
	}
	b := fs[0]
	if b.Name != "build" || b.Line != 12 || b.Version != "0.1.0" || b.Newest != "ghcr.io/acme/task-build:0.2@"+dg("c") ||
		strings.Join(b.Reasons, ",") != "superseded,newer,expiring" || b.ExpiresOn != "2026-12-31" {
		t.Errorf("build finding %+v", b)
	}
	if len(b.Changes) != 2 || b.Changes[0].Version != "0.2.0" || b.Changes[1].Version != "0.1.1" {
		t.Errorf("changes %+v", b.Changes)
	}
	o := fs[1]
	if o.Name != "old" || strings.Join(o.Reasons, ",") != "deprecated,expiring" || !strings.Contains(o.Message, "use task new") || o.ExpiresOn != "2026-12-01" {
		t.Errorf("deprecated finding %+v", o)
	}
	u := fs[2]
	if u.Name != "fresh" || u.Reasons[0] != "unknown" || u.Line != 27 {
		t.Errorf("unknown finding %+v", u)
	}
	// After the expiry the deprecated one is reported as expired.
	fs2 := Check(testCatalog(), "run.yaml", []byte(pipelineRun), WithNow(time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)))
	if !strings.Contains(strings.Join(fs2[1].Reasons, ","), "expired") {
		t.Errorf("after expiry %+v", fs2[1])
	}

	fixed := Fix([]byte(pipelineRun), fs)
	if !strings.Contains(string(fixed), `value: "ghcr.io/acme/task-build:0.2@`+dg("c")+`"}`) {
		t.Errorf("build not fixed:\n%s", fixed)
	}
	again := Check(testCatalog(), "run.yaml", fixed, WithNow(now))
	for _, f := range again {
		if f.Name == "build" {
			t.Errorf("still outdated after fix: %+v", f)
		}
	}
	// The deprecated task has no newer version to move to: left alone.
	if !strings.Contains(string(fixed), "task-old:1.0@"+dg("d")) {
		t.Error("fix rewrote a reference with no replacement")
	}
}

func TestParseRef(t *testing.T) {
	r, err := ParseRef("127.0.0.1:5000/lib/task-git-clone:0.1@" + dg("a"))
	if err != nil || r.Repo != "127.0.0.1:5000/lib/task-git-clone" || r.Tag != "0.1" || r.Name != "git-clone" || r.Kind != "task" {
		t.Fatalf("%+v %v", r, err)
	}
	if r.String() != "127.0.0.1:5000/lib/task-git-clone:0.1@"+dg("a") {
		t.Errorf("round trip %s", r)
	}
	for _, bad := range []string{
		"ghcr.io/acme/task-x:0.1",
		"ghcr.io/acme/task-x@sha256:abc",
		"ghcr.io/acme/image:0.1@" + dg("a"),
		"ghcr.io/acme/task-x:bad tag@" + dg("a"),
		"/task-x@" + dg("a"),
	} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// A pipeline rebuilt under the same version because a task it includes
// moved says which task changed and how, from the task's CHANGELOG.
func TestDigestOnlyUpdateExplained(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "tasks/build/0.1"), 0o755)
	os.WriteFile(filepath.Join(root, "tasks/build/0.1/CHANGELOG.md"), []byte("## 0.1.1\n\n- Fixed the cache path.\n\n## 0.1.0\n\n- First.\n"), 0o644)
	c := testCatalog()
	c.Pipelines = []catalog.Entry{{Name: "docker-build", Versions: []catalog.Version{{
		Version: "0.1.0", Path: "pipelines/docker-build/0.1/docker-build.yaml", Bundle: "ghcr.io/acme/pipeline-docker-build:0.1@" + dg("2"),
		Published: []catalog.Publication{
			{Digest: dg("1"), On: "2026-10-01T00:00:00Z", SupersededOn: "2026-11-01T00:00:00Z", Version: "0.1.0",
				Includes: []string{"ghcr.io/acme/task-build:0.1@" + dg("a"), "ghcr.io/acme/task-fresh:0.1@" + dg("e")}},
			{Digest: dg("2"), On: "2026-11-01T00:00:00Z", Version: "0.1.0",
				Includes: []string{"ghcr.io/acme/task-build:0.1@" + dg("b"), "ghcr.io/acme/task-fresh:0.1@" + dg("e")}},
		},
	}}}}
	run := []byte("pipelineRef:\n  resolver: bundles\n  params:\n    - name: bundle\n      value: ghcr.io/acme/pipeline-docker-build:0.1@" + dg("1") + "\n")
	fs := Check(c, "run.yaml", run, WithRoot(root), WithNow(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)))
	if len(fs) != 1 || fs[0].Reasons[0] != "superseded" {
		t.Fatalf("%+v", fs)
	}
	if len(fs[0].Changes) != 1 || fs[0].Changes[0].Version != "build 0.1.1" || fs[0].Changes[0].Notes != "- Fixed the cache path." {
		t.Errorf("changes %+v", fs[0].Changes)
	}
}

// CheckFiles reads CHANGELOGs beside the catalog file, reports every
// file's findings and, with WithFix, rewrites only the files that change.
func TestCheckFiles(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "tasks/build/0.2"), 0o755)
	os.WriteFile(filepath.Join(root, "tasks/build/0.2/CHANGELOG.md"), []byte("# build\n\n## 0.2.0\n\n- Renamed.\n"), 0o644)
	catFile := filepath.Join(root, catalog.FileName)
	if err := testCatalog().Save(catFile); err != nil {
		t.Fatal(err)
	}
	run, current := filepath.Join(t.TempDir(), "run.yaml"), filepath.Join(t.TempDir(), "current.yaml")
	os.WriteFile(run, []byte(pipelineRun), 0o644)
	os.WriteFile(current, []byte("kind: Pipeline\n"), 0o644)
	now := WithNow(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))

	fs, rewritten, err := CheckFiles(catFile, []string{run, current}, now)
	if err != nil || len(fs) != 3 || rewritten != 0 || fs[0].File != run || len(fs[0].Changes) != 1 {
		t.Fatalf("CheckFiles = %d findings %+v, %d rewritten, %v", len(fs), fs, rewritten, err)
	}
	if b, _ := os.ReadFile(run); string(b) != pipelineRun {
		t.Error("CheckFiles without WithFix rewrote a file")
	}
	fs, rewritten, err = CheckFiles(catFile, []string{run, current}, now, WithFix(true))
	if err != nil || len(fs) != 3 || rewritten != 1 {
		t.Fatalf("CheckFiles with WithFix = %d findings, %d rewritten, %v", len(fs), rewritten, err)
	}
	if b, _ := os.ReadFile(run); !strings.Contains(string(b), "task-build:0.2@"+dg("c")) {
		t.Errorf("not fixed:\n%s", b)
	}
	if _, _, err := CheckFiles(catFile, []string{filepath.Join(root, "nope.yaml")}, now); err == nil {
		t.Error("a missing file was not an error")
	}
}
