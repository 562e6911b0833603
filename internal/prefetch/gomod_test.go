package prefetch

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goModuleFixture serves two modules and writes a main module that
// imports one of them.
func goModuleFixture(t *testing.T) (fs *fileServer, src string, greet *testModule) {
	t.Helper()
	fs = newFileServer(t)
	greet = &testModule{path: "example.test/greet", version: "v1.2.0",
		files: map[string]string{"greet.go": "package greet\n\nfunc Hello() string { return \"hello from greet\" }\n"}}
	serveModule(t, fs, greet)
	src = t.TempDir()
	writeFiles(t, src, map[string]string{
		"go.mod":  "module example.test/app\n\ngo 1.21\n\nrequire example.test/greet v1.2.0\n",
		"go.sum":  greet.sumLines(),
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.test/greet\"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n",
	})
	return fs, src, greet
}

// TestGomodBuildsOffline fetches through a module proxy on 127.0.0.1, then
// builds the main module with the real go command, GOPROXY=off, from the
// output alone, exactly with the environment prefetch.env sets.
func TestGomodBuildsOffline(t *testing.T) {
	fs, src, _ := goModuleFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	res, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeGomod, Path: "."}},
		WithGoProxy(fs.URL), WithMountPath("/prefetch"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Components != 1 || res.Files != 2 {
		t.Errorf("result %+v: want 1 component, 2 files (zip, go.mod)", res)
	}
	// The environment of prefetch.env, with the mount path replaced by
	// where the output is on this machine.
	env := envFromFile(t, filepath.Join(out, EnvFile), "/prefetch", out)
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = src
	cmd.Env = append(cleanGoEnv(), append(env, "CGO_ENABLED=0")...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run offline: %v\n%s", err, b)
	}
	if strings.TrimSpace(string(b)) != "hello from greet" {
		t.Errorf("go run printed %q", b)
	}
	sbom := readSBOM(t, filepath.Join(out, SBOMFile))
	if len(sbom.Components) != 1 || sbom.Components[0].PURL != "pkg:golang/example.test/greet@v1.2.0" {
		t.Errorf("SBOM components %+v", sbom.Components)
	}
}

// cleanGoEnv is this process's environment without the Go settings a
// test must control.
func cleanGoEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOPROXY", "GOMODCACHE", "GONOSUMDB", "GOSUMDB", "GOPATH", "GOTOOLCHAIN":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOPATH="+os.TempDir()+"/prefetch-test-gopath")
}

// envFromFile reads prefetch.env and maps the mount path to a host path.
func envFromFile(t *testing.T, p, mount, host string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		env = append(env, strings.ReplaceAll(kv, mount, host))
	}
	return env
}

type sbomDoc struct {
	SpecVersion  string `json:"specVersion"`
	SerialNumber string `json:"serialNumber"`
	Components   []struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		PURL       string `json:"purl"`
		Hashes     []struct{ Alg, Content string }
		Properties []struct{ Name, Value string }
	} `json:"components"`
}

func readSBOM(t *testing.T, p string) sbomDoc {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var d sbomDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGomodChecksumMismatch(t *testing.T) {
	fs, src, greet := goModuleFixture(t)
	// The proxy serves another zip than go.sum pins.
	other := &testModule{path: greet.path, version: greet.version,
		files: map[string]string{"greet.go": "package greet\n\nfunc Hello() string { return \"tampered\" }\n"}}
	serveModule(t, fs, other)
	writeFiles(t, src, map[string]string{"go.sum": strings.Replace(greet.sumLines(), greet.modHash, other.modHash, 1)})
	out := filepath.Join(t.TempDir(), "out")
	_, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeGomod}}, WithGoProxy(fs.URL))
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("want a checksum error, got %v", err)
	}
	if !strings.Contains(err.Error(), "example.test/greet v1.2.0") || ce.Want != greet.zipHash {
		t.Errorf("error %q should name the module and go.sum's hash", err)
	}
	assertEmpty(t, out)
}

func TestGomodMissingPin(t *testing.T) {
	fs, src, _ := goModuleFixture(t)
	writeFiles(t, src, map[string]string{
		"go.mod": "module example.test/app\n\ngo 1.21\n\nrequire (\n\texample.test/greet v1.2.0\n\texample.test/unpinned v0.1.0\n)\n",
	})
	out := filepath.Join(t.TempDir(), "out")
	_, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeGomod}}, WithGoProxy(fs.URL))
	var ue *UnpinnedError
	if !errors.As(err, &ue) || len(ue.Packages) != 1 || ue.Packages[0] != "example.test/unpinned v0.1.0" || ue.File != "go.sum" {
		t.Fatalf("want the unpinned module named, got %v", err)
	}
	if fs.requests.Load() != 0 {
		t.Errorf("%d requests before the input was checked", fs.requests.Load())
	}
	assertEmpty(t, out)
}

func TestGomodUnreachableProxy(t *testing.T) {
	_, src, _ := goModuleFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	_, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeGomod}}, WithGoProxy(deadURL(t)))
	if err == nil || !strings.Contains(err.Error(), "example.test/greet v1.2.0") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("want the module and the refused connection named, got %v", err)
	}
	assertEmpty(t, out)
}

// TestCacheServesWarmRun: a second run with the cache needs no server.
func TestCacheServesWarmRun(t *testing.T) {
	fs, src, _ := goModuleFixture(t)
	cache := t.TempDir()
	out1 := filepath.Join(t.TempDir(), "out")
	if _, err := Prefetch(context.Background(), src, out1, []Package{{Type: TypeGomod}}, WithGoProxy(fs.URL), WithCacheDir(cache)); err != nil {
		t.Fatal(err)
	}
	fs.Close()
	out2 := filepath.Join(t.TempDir(), "out")
	res, err := Prefetch(context.Background(), src, out2, []Package{{Type: TypeGomod}}, WithGoProxy(fs.URL), WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached != res.Files || res.Files != 2 {
		t.Errorf("warm run: %d of %d files from the cache", res.Cached, res.Files)
	}
	// A damaged cache entry is not trusted: it is fetched again (and here
	// the server is gone, so the run fails rather than use it).
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.WriteFile(p, []byte("damaged"), 0o644)
		}
		return nil
	})
	out3 := filepath.Join(t.TempDir(), "out")
	if _, err := Prefetch(context.Background(), src, out3, []Package{{Type: TypeGomod}}, WithGoProxy(fs.URL), WithCacheDir(cache)); err == nil {
		t.Error("a damaged cache was used")
	}
	assertEmpty(t, out3)
}

// TestGomodRealProxy fetches the sample application's modules from the
// real Go module proxy (reachable from this machine) and builds it
// offline.
func TestGomodRealProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the network")
	}
	src := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "test", "sample-app", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, src, map[string]string{f: string(b)})
	}
	out := filepath.Join(t.TempDir(), "out")
	proxy := os.Getenv("GOPROXY")
	if _, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeGomod}}, WithGoProxy(proxy)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "app"), ".")
	cmd.Dir = src
	cmd.Env = append(cleanGoEnv(), append(envFromFile(t, filepath.Join(out, EnvFile), DefaultMountPath, out), "CGO_ENABLED=0")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build offline: %v\n%s", err, b)
	}
	sbom := readSBOM(t, filepath.Join(out, SBOMFile))
	if len(sbom.Components) != 1 || sbom.Components[0].PURL != "pkg:golang/golang.org/x/text@v0.3.7" {
		t.Errorf("SBOM components: %+v", sbom.Components)
	}
}
