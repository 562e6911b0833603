package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/build/buildtest"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// TestPipelineWithoutPrefetch: with prefetch-input empty (the default)
// the prefetch task is skipped and the pipeline builds as before: the build
// and the SBOM run without prefetched dependencies, and there is no
// PREFETCH_ARTIFACT_INPUTS result.
func TestPipelineWithoutPrefetch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the build step needs root")
	}
	reg := testregistry.Start(t)
	ws, out, results := runDockerBuild(t, reg, true)
	if d, _ := results["IMAGE_DIGEST"].(string); d == "" {
		t.Fatalf("no image: %v", results)
	}
	if _, ok := results["PREFETCH_ARTIFACT_INPUTS"]; ok {
		t.Errorf("PREFETCH_ARTIFACT_INPUTS without prefetch: %v", results)
	}
	if _, err := os.Stat(filepath.Join(ws, ".prefetch")); !os.IsNotExist(err) {
		t.Errorf(".prefetch exists without prefetch: %v", err)
	}
	sbom, err := os.ReadFile(filepath.Join(ws, "sbom.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sbom), "trustline:origin") {
		t.Error("the SBOM marks origins without a prefetch SBOM")
	}
	if b, _ := os.ReadFile(filepath.Join(out, "pipelinerun.yaml")); !strings.Contains(string(b), "prefetch") {
		t.Error("the PipelineRun does not record the skipped prefetch task")
	}
}

// TestHermeticPrefetchPipeline runs the docker-build pipeline on the
// sample application with prefetch-input "gomod" and hermetic "true": the
// prefetch task fetches golang.org/x/text from the Go module proxy, the
// build compiles the application from source in a RUN with no network,
// from the prefetched modules alone, the SBOM lists the module with both
// origins (prefetched, and found in the binary), and the PipelineRun's
// provenance records the prefetched dependencies as a resolved
// dependency.
func TestHermeticPrefetchPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go from source inside a hermetic build")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the build step needs root")
	}
	reg := testregistry.Start(t)
	goImage := pushGoToolchain(t, reg+"/tools/go:local")
	ws, out, results := runDockerBuild(t, reg, false,
		"prefetch-input=gomod", "hermetic=true", "dockerfile=Containerfile.hermetic", "build-args=GO_IMAGE="+goImage)
	b, _ := json.Marshal(results)
	digest, _ := results["IMAGE_DIGEST"].(string)
	if digest == "" {
		t.Fatalf("no image: %s", b)
	}

	// The image holds the binary compiled inside the build, and nothing
	// of the prefetched dependencies.
	img, err := remote.Image(mustDigest(t, reg+"/app/sample@"+digest))
	if err != nil {
		t.Fatal(err)
	}
	names := imageFiles(t, img)
	if len(names) != 1 || names[0] != "sample-app" {
		t.Errorf("image files %v, want only sample-app", names)
	}

	// The SBOM: x/text prefetched, and found in the binary.
	sbom, err := os.ReadFile(filepath.Join(ws, "sbom.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		Components []struct {
			PURL       string `json:"purl"`
			Properties []struct{ Name, Value string }
		}
	}
	json.Unmarshal(sbom, &bom)
	var origins []string
	for _, c := range bom.Components {
		if c.PURL == "pkg:golang/golang.org/x/text@v0.3.7" {
			for _, p := range c.Properties {
				if p.Name == "trustline:origin" {
					origins = append(origins, p.Value)
				}
			}
		}
	}
	if strings.Join(origins, ",") != "image,prefetch" {
		t.Errorf("golang.org/x/text origins %v, want image and prefetch", origins)
	}

	// The PipelineRun's provenance records the prefetch SBOM.
	pre, _ := results["PREFETCH_ARTIFACT_INPUTS"].(map[string]any)
	uri, _ := pre["uri"].(string)
	if !strings.HasPrefix(uri, "urn:uuid:") {
		t.Fatalf("PREFETCH_ARTIFACT_INPUTS %v", results["PREFETCH_ARTIFACT_INPUTS"])
	}
	provs, _ := filepath.Glob(filepath.Join(out, "work", "*.provenance.intoto.json"))
	found := false
	for _, p := range provs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), uri) {
			found = true
		}
	}
	if !found {
		t.Errorf("no provenance in %v records %s as a resolved dependency", provs, uri)
	}
}

// runDockerBuild runs the docker-build pipeline, its tasks pushed as
// bundles to reg, on a Git repository of the sample application (with the
// binary prebuilt, as the demo does, when prebuilt), with skip-checks and
// the given params. It returns the source workspace, the run's output
// directory and the pipeline's results.
func runDockerBuild(t *testing.T, reg string, prebuilt bool, params ...string) (ws, out string, results map[string]any) {
	t.Helper()
	tr := filepath.Join(binDir, "trustline")

	// The sample application as a Git repository.
	src := filepath.Join(t.TempDir(), "sample-app")
	cp := exec.Command("cp", "-r", filepath.Join(repoRoot, "test", "sample-app"), src)
	if b, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if prebuilt {
		// As scripts/demo.sh does: the binary built here, the image only
		// copies it.
		cmd := exec.Command("go", "build", "-trimpath", "-o", "sample-app", ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0", "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v: %s", err, b)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "sample app"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = src
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, b)
		}
	}

	// Every task as a bundle in the registry, the pipeline pointed at them.
	pipeline, err := os.ReadFile(filepath.Join(repoRoot, "pipelines", "docker-build", "0.1", "docker-build.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot, "tasks", "*", "0.1", "*.yaml"))
	for _, f := range files {
		task := filepath.Base(filepath.Dir(filepath.Dir(f)))
		out, err := exec.Command(tr, "bundle", "push", f, reg+"/trustline/task-"+task+":0.1").Output()
		if err != nil {
			t.Fatalf("bundle push %s: %v", f, err)
		}
		ref := strings.TrimSpace(string(out))
		re := regexp.MustCompile(`[^ "']*/task-` + regexp.QuoteMeta(task) + `:0\.1@sha256:[0-9a-f]{64}`)
		pipeline = re.ReplaceAll(pipeline, []byte(ref))
	}
	work := t.TempDir()
	pfile := filepath.Join(work, "pipeline.yaml")
	os.WriteFile(pfile, pipeline, 0o644)
	keys := filepath.Join(work, "keys")
	key := exec.Command(tr, "key", "generate", "--dir", keys)
	key.Env = append(os.Environ(), "COSIGN_PASSWORD=")
	if b, err := key.CombinedOutput(); err != nil {
		t.Fatalf("key generate: %v: %s", err, b)
	}

	ws = filepath.Join(work, "source")
	out = filepath.Join(work, "run")
	os.MkdirAll(ws, 0o755)
	args := []string{"run", "pipeline", "--bin-dir", binDir, "--output", out, "--key", filepath.Join(keys, "cosign.key"),
		"-p", "git-url=file://" + src, "-p", "output-image=" + reg + "/app/sample:hermetic", "-p", "skip-checks=true", "-w", "source=" + ws,
		// Required even when skip-checks skips the policy gate: Tekton
		// refuses a run that leaves a workspace a task needs unbound.
		"-w", "keys=" + keys}
	for _, p := range params {
		args = append(args, "-p", p)
	}
	run := exec.Command(tr, append(args, pfile)...)
	run.Env = append(os.Environ(), "COSIGN_PASSWORD=")
	if b, err := run.CombinedOutput(); err != nil {
		logs, _ := exec.Command("sh", "-c", "tail -n 30 "+out+"/work/*/logs/*.log").CombinedOutput()
		t.Fatalf("trustline run pipeline: %v\n%s\n%s", err, b, logs)
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || json.Unmarshal(b, &results) != nil {
		t.Fatalf("results.json: %v %s", err, b)
	}
	return ws, out, results
}

func mustDigest(t *testing.T, s string) name.Digest {
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func imageFiles(t *testing.T, img v1.Image) []string {
	rc := mutate.Extract(img)
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			out = append(out, strings.TrimPrefix(h.Name, "/"))
		}
	}
}

// pushGoToolchain pushes busybox plus this machine's Go toolchain (the go
// command, the compiler, assembler and linker, and the standard library's
// sources without tests) as an image, and returns it by digest.
func pushGoToolchain(t *testing.T, tag string) string {
	t.Helper()
	goroot := strings.TrimSpace(mustOutput(t, "go", "env", "GOROOT"))
	tool := filepath.Join("pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(rel string) error {
		full := filepath.Join(goroot, rel)
		fi, err := os.Lstat(full)
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = "usr/local/go/" + filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(full)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	}
	for _, d := range []string{"usr/", "usr/local/", "usr/local/go/"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755})
	}
	for _, rel := range []string{"bin", "bin/go", "go.env", "VERSION", "pkg", filepath.Join("pkg", "tool"), tool} {
		if err := add(rel); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	for _, tl := range []string{"compile", "asm", "link", "cgo"} {
		if err := add(filepath.Join(tool, tl)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tree := range []string{"src", filepath.Join("pkg", "include")} {
		err := filepath.WalkDir(filepath.Join(goroot, tree), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if strings.HasSuffix(p, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(goroot, p)
			return add(rel)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(buildtest.Busybox(t), layer)
	if err != nil {
		t.Fatal(err)
	}
	img = testimage.EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.Config.Env = []string{"PATH=/usr/local/go/bin:/bin", "HOME=/tmp", "GOCACHE=/tmp/go-build"}
	})
	return testregistry.Push(t, tag, img).String()
}

func mustOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(b)
}
