package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/bundle"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

const runFixtures = "../../internal/runner/testdata"

// testStepBin builds the runner's test step binary (tstep) once per test.
func testStepBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "tstep"), "../../internal/runner/testdata/tstep")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tstep: %v\n%s", err, out)
	}
	return dir
}

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	code := stepcli.Run(newApp(), append([]string{"trustline", "run"}, args...), &stderr)
	return code, stderr.String()
}

func TestRunTaskCLI(t *testing.T) {
	bin := testStepBin(t)
	out := t.TempDir()
	ws := t.TempDir()
	// Values with commas stay whole (a JSON-ish string, an array). The
	// file param keeps its default: a given value would be passed
	// literally, never expanded again (internal/runner's one-pass tests).
	code, stderr := runCLI(t, "task", "--bin-dir", bin, "--output", out,
		"-p", `who={"a":1,"b":2}`, "-p", "items=p,q",
		"-w", "data="+ws, filepath.Join(runFixtures, "task-params.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res["greeting"] != `hello {"a":1,"b":2}` || res["joined"] != "p,q" {
		t.Errorf("results %v", res)
	}
	files, _ := filepath.Glob(filepath.Join(out, "taskruns", "*.yaml"))
	if len(files) != 1 {
		t.Fatalf("taskruns %v", files)
	}
	if _, err := provenance.ParseFile(files[0]); err != nil {
		t.Errorf("recorded TaskRun does not read back: %v", err)
	}
}

func TestRunExitCodes(t *testing.T) {
	bin := testStepBin(t)
	// A step that exits 1 (a check said no) makes the run exit 1.
	code, stderr := runCLI(t, "pipeline", "--bin-dir", bin, "--output", t.TempDir(), filepath.Join(runFixtures, "pipeline-fail.yaml"))
	if code != 1 {
		t.Errorf("failed check: exit %d, want 1: %s", code, stderr)
	}
	if !strings.Contains(stderr, "TASK") || !strings.Contains(stderr, "cleanup (finally)") {
		t.Errorf("no summary table: %s", stderr)
	}
	// A foreign image is refused by name before anything runs: exit 2.
	code, stderr = runCLI(t, "task", "--bin-dir", bin, "--output", t.TempDir(), filepath.Join(runFixtures, "task-foreign-image.yaml"))
	if code != 2 || !strings.Contains(stderr, "docker.io/library/busybox") {
		t.Errorf("foreign image: exit %d: %s", code, stderr)
	}
	// A missing file is not taken for a bundle reference.
	code, stderr = runCLI(t, "task", "--bin-dir", bin, "tasks/nope/0.1/nope.yaml")
	if code != 2 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d: %s", code, stderr)
	}
	// Flags after the file are a usage error that says so.
	code, stderr = runCLI(t, "task", filepath.Join(runFixtures, "task-foreign-image.yaml"), "--bin-dir", bin)
	if code != 2 || !strings.Contains(stderr, "flags go before") {
		t.Errorf("flags after FILE: exit %d: %s", code, stderr)
	}
}

func TestRunTaskFromBundle(t *testing.T) {
	bin := testStepBin(t)
	reg := testregistry.Start(t)
	ref, err := name.ParseReference(reg + "/tasks/task-volume:0.1")
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := bundle.Push(context.Background(), []string{filepath.Join(runFixtures, "task-volume.yaml")}, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stderr := runCLI(t, "task", "--bin-dir", bin, "--output", out, ref.String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "taskruns", "*.yaml"))
	if len(files) != 1 {
		t.Fatalf("taskruns %v", files)
	}
	run, err := provenance.ParseFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	src := run.TaskRun.Status.Provenance
	if src == nil || src.RefSource == nil || src.RefSource.URI != ref.Context().Name() ||
		"sha256:"+src.RefSource.Digest["sha256"] != pushed.Digest.DigestStr() {
		t.Errorf("refSource %+v, want %s at %s", src, ref.Context().Name(), pushed.Digest.DigestStr())
	}
	if tr := run.TaskRun.Spec.TaskRef; tr == nil || tr.Resolver != "bundles" {
		t.Errorf("taskRef %+v, want the bundles resolver", tr)
	}
}
