package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/urfave/cli/v2"
	"go.podman.io/buildah"
	"go.podman.io/storage"

	"github.com/trustline-dev/trustline/internal/build/buildtest"
	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/stepcli/stepclitest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

func TestMain(m *testing.M) {
	if buildah.InitReexec() {
		return
	}
	// TestStop runs this binary as the step itself.
	if os.Getenv("TRUSTLINE_TEST_STEP_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// pushBusybox puts the busybox test image in the registry and returns
// its repo@digest.
func pushBusybox(t *testing.T, reg string) string {
	t.Helper()
	return testregistry.Push(t, reg+"/base/busybox:1", buildtest.Busybox(t)).String()
}

// TestRunFails: a RUN that exits 7 makes the step exit 2 (not 7), with a
// message naming the instruction and its status, and pushes nothing.
func TestRunFails(t *testing.T) {
	reg := testregistry.Start(t)
	base := pushBusybox(t, reg)
	tmp := t.TempDir()
	ctxDir := filepath.Join(tmp, "src")
	must(t, os.MkdirAll(ctxDir, 0o755))
	must(t, os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte("FROM "+base+"\nRUN exit 7\n"), 0o644))
	image := reg + "/step/fails:v1"
	var stderr bytes.Buffer
	code := stepcliRun(t, newApp(), []string{"build", "--context", ctxDir, "--image", image,
		"--storage-root", filepath.Join(tmp, "root"), "--storage-runroot", filepath.Join(tmp, "run"),
		"--results-dir", filepath.Join(tmp, "results")}, &stderr)
	if code != exitcode.Error {
		t.Errorf("exit %d, want %d\n%s", code, exitcode.Error, stderr.String())
	}
	if want := `instruction "RUN exit 7" failed: the command exited with status 7`; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
	}
	if _, err := remote.Head(mustRef(t, image)); err == nil {
		t.Errorf("%s was pushed", image)
	}
}

// TestStop stops the step binary with SIGTERM while a RUN sleeps, and
// checks it leaves nothing behind: exit 2, the RUN's process gone, no
// mount below its directories, an empty temporary directory, no working
// container in storage, nothing pushed. Hermetic builds too (they used to
// leave the context overlay mounted).
func TestStop(t *testing.T) {
	reg := testregistry.Start(t)
	base := pushBusybox(t, reg)
	for _, hermetic := range []bool{false, true} {
		t.Run(map[bool]string{false: "networked", true: "hermetic"}[hermetic], func(t *testing.T) {
			tmp := t.TempDir()
			ctxDir := filepath.Join(tmp, "src")
			must(t, os.MkdirAll(ctxDir, 0o755))
			// A number no other process on the machine sleeps for.
			sleep := strconv.Itoa(3000 + os.Getpid()%1000)
			if hermetic {
				sleep += "1"
			}
			must(t, os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte("FROM "+base+"\nRUN echo sleeping-now; sleep "+sleep+"; echo woke\n"), 0o644))
			stepTmp := filepath.Join(tmp, "tmp")
			must(t, os.MkdirAll(stepTmp, 0o700))
			storageRoot, runRoot := filepath.Join(tmp, "root"), filepath.Join(tmp, "run")
			image := reg + "/step/stopped:v1"
			args := []string{"--context", ctxDir, "--image", image,
				"--storage-root", storageRoot, "--storage-runroot", runRoot,
				"--results-dir", filepath.Join(tmp, "results")}
			if hermetic {
				args = append(args, "--hermetic")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "TRUSTLINE_TEST_STEP_MAIN=1", "TMPDIR="+stepTmp)
			stderr := &stepclitest.Buffer{}
			cmd.Stderr = stderr
			must(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()

			var pid int
			deadline := time.Now().Add(3 * time.Minute)
			for pid == 0 {
				select {
				case err := <-exited:
					t.Fatalf("the step ended before it was stopped: %v\n%s", err, stderr.String())
				case <-time.After(100 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("the RUN never started sleeping\n%s", stderr.String())
				}
				if strings.Contains(stderr.String(), "\nsleeping-now\n") {
					pid = findProcess(t, "sleep\x00"+sleep+"\x00")
				}
			}
			must(t, cmd.Process.Signal(syscall.SIGTERM))
			select {
			case <-exited:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("the step did not stop within a minute of SIGTERM\n%s", stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != exitcode.Error {
				t.Errorf("exit %d, want %d\n%s", code, exitcode.Error, stderr.String())
			}
			if !strings.Contains(stderr.String(), "stopped by a signal: terminated") {
				t.Errorf("stderr does not say the step was stopped:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String(), "\nwoke\n") {
				t.Errorf("the RUN ran to its end")
			}
			// The kernel tears the PID namespace down as the step waits for
			// its build process; give it a moment all the same.
			for i := 0; i < 50 && processAlive(pid, sleep); i++ {
				time.Sleep(100 * time.Millisecond)
			}
			if processAlive(pid, sleep) {
				t.Errorf("the RUN's sleep (pid %d) survived the step", pid)
			}
			mountinfo, err := os.ReadFile("/proc/self/mountinfo")
			must(t, err)
			for _, line := range strings.Split(string(mountinfo), "\n") {
				if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], tmp) {
					t.Errorf("left mounted: %s", f[4])
				}
			}
			if entries, err := os.ReadDir(stepTmp); err != nil || len(entries) != 0 {
				t.Errorf("temporary directory %s holds %v (%v)", stepTmp, entries, err)
			}
			st, err := storage.GetStore(storage.StoreOptions{GraphDriverName: "vfs", GraphRoot: storageRoot, RunRoot: runRoot})
			must(t, err)
			cs, err := st.Containers()
			must(t, err)
			if len(cs) != 0 {
				t.Errorf("working containers left in storage: %+v", cs)
			}
			_, _ = st.Shutdown(true)
			if _, err := remote.Head(mustRef(t, image)); err == nil {
				t.Errorf("%s was pushed", image)
			}
		})
	}
}

// findProcess returns the PID of the process whose command line (NUL
// separated) is cmdline, or 0.
func findProcess(t *testing.T, cmdline string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	must(t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && string(b) == cmdline {
			return pid
		}
	}
	return 0
}

// processAlive reports whether pid is still the sleep (and not a zombie).
func processAlive(pid int, sleep string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && string(b) == "sleep\x00"+sleep+"\x00"
}

func TestStep(t *testing.T) {
	reg := testregistry.Start(t)
	tmp := t.TempDir()
	storage := []string{
		"--storage-root", filepath.Join(tmp, "root"),
		"--storage-runroot", filepath.Join(tmp, "run"),
	}
	ctxDir := filepath.Join(tmp, "src")
	must(t, os.MkdirAll(ctxDir, 0o755))
	must(t, os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte("FROM scratch\nARG MSG\nLABEL msg=$MSG\nCOPY app.txt /app.txt\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ctxDir, "app.txt"), []byte("app\n"), 0o644))

	t.Run("push-and-results", func(t *testing.T) {
		resultsDir := filepath.Join(tmp, "results")
		image := reg + "/step/app:v1"
		var stdout, stderr bytes.Buffer
		app := newApp()
		app.Writer = &stdout
		t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
		code := stepcliRun(t, app, append([]string{"build",
			"--context", ctxDir, "--image", image,
			"--build-arg", "MSG=hello",
			"--source-url", "https://example.com/app", "--revision", "abc123",
			"--results-dir", resultsDir, "--output", "json"}, append(storage, "--", "--label", "team=a", "other=b,c")...), &stderr)
		if code != exitcode.OK {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		dir := results.Dir{Path: resultsDir}
		url, _ := dir.Read("IMAGE_URL")
		digest, _ := dir.Read("IMAGE_DIGEST")
		ref, _ := dir.Read("IMAGE_REF")
		if url != image {
			t.Errorf("IMAGE_URL = %q, want %q", url, image)
		}
		desc, err := remote.Get(mustRef(t, image))
		if err != nil {
			t.Fatal(err)
		}
		if digest != desc.Digest.String() {
			t.Errorf("IMAGE_DIGEST = %q, registry has %s", digest, desc.Digest)
		}
		if want := reg + "/step/app@" + desc.Digest.String(); ref != want {
			t.Errorf("IMAGE_REF = %q, want %q", ref, want)
		}
		var out struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("--output json: %v\n%s", err, stdout.String())
		}
		if out.Digest != digest || out.Annotations["org.opencontainers.image.revision"] != "abc123" ||
			out.Annotations["org.opencontainers.image.created"] != "2023-11-14T22:13:20Z" {
			t.Errorf("--output json = %s", stdout.String())
		}
		img, err := desc.Image()
		must(t, err)
		cf, err := img.ConfigFile()
		must(t, err)
		if cf.Config.Labels["msg"] != "hello" || cf.Config.Labels["team"] != "a" || cf.Config.Labels["other"] != "b,c" {
			t.Errorf("labels = %v", cf.Config.Labels)
		}
		if !strings.Contains(stderr.String(), "pushed "+ref) {
			t.Errorf("stderr does not report the push:\n%s", stderr.String())
		}
	})

	t.Run("errors-exit-2", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"bad-build-arg", []string{"--build-arg", "NOEQUALS"}, "--build-arg"},
			{"bad-epoch", []string{"--source-date-epoch", "yesterday"}, "SOURCE_DATE_EPOCH"},
			{"bad-driver", []string{"--storage-driver", "btrfs"}, "storage driver"},
			{"no-containerfile", []string{"--containerfile", "Nope"}, "Nope"},
			{"bad-output", []string{"--output", "yaml"}, "--output"},
			{"stray-argument", []string{"A=1"}, "unexpected argument"},
			{"bad-trailing-label", []string{"--", "--label", "nokey"}, "--label"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resultsDir := t.TempDir()
				var stderr bytes.Buffer
				image := reg + "/step/" + tc.name + ":v1"
				args := append([]string{"build", "--context", ctxDir, "--image", image, "--results-dir", resultsDir}, storage...)
				code := stepcliRun(t, newApp(), append(args, tc.args...), &stderr)
				if code != exitcode.Error {
					t.Errorf("exit %d, want %d", code, exitcode.Error)
				}
				if !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("stderr does not mention %q:\n%s", tc.want, stderr.String())
				}
				if entries, _ := os.ReadDir(resultsDir); len(entries) != 0 {
					t.Errorf("results written on failure: %v", entries)
				}
				if _, err := remote.Head(mustRef(t, image)); err == nil {
					t.Errorf("%s was pushed", image)
				}
			})
		}
	})

	t.Run("help", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		app := newApp()
		app.Writer = &stdout
		if code := stepcliRun(t, app, []string{"build", "--help"}, &stderr); code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, w := range []string{"Example:", "--hermetic", "--source-date-epoch", "root"} {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("--help does not mention %q", w)
			}
		}
	})
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	must(t, err)
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
func stepcliRun(t *testing.T, app *cli.App, args []string, stderr io.Writer) int {
	t.Helper()
	app.ErrWriter = stderr
	return stepcli.Run(app, args, stderr)
}

func TestTrailingLists(t *testing.T) {
	a, l, err := trailingLists([]string{"--build-arg", "A=1", "B=2", "--label", "x=y", "--build-arg", "C=3"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a, " ") != "A=1 B=2 C=3" || strings.Join(l, " ") != "x=y" {
		t.Errorf("build args %q, labels %q", a, l)
	}
	if a, l, err := trailingLists(nil); err != nil || a != nil || l != nil {
		t.Errorf("no arguments: %q %q %v", a, l, err)
	}
	if _, _, err := trailingLists([]string{"A=1"}); err == nil {
		t.Error("a value before any marker was accepted")
	}
}

func FuzzTrailingLists(f *testing.F) {
	f.Add("--build-arg\x00A=1\x00--label\x00b=c")
	f.Add("A=1")
	f.Add("--label")
	f.Fuzz(func(t *testing.T, joined string) {
		in := strings.Split(joined, "\x00")
		a, l, err := trailingLists(in)
		if err != nil {
			return
		}
		markers := 0
		for _, s := range in {
			if s == "--build-arg" || s == "--label" {
				markers++
			}
		}
		if len(a)+len(l)+markers != len(in) {
			t.Fatalf("%q: %d build args + %d labels + %d markers != %d arguments", in, len(a), len(l), markers, len(in))
		}
	})
}

// TestDestination: --image must be a tag (a digest is what the build
// produces); --tls-verify=false makes any registry plain HTTP, as the push.
func TestDestination(t *testing.T) {
	tag, err := destination("registry.example/app:v1", true)
	if err != nil || tag.Name() != "registry.example/app:v1" || tag.Scheme() != "http" {
		t.Errorf("destination = %v (scheme %s), %v", tag, tag.Scheme(), err)
	}
	if tag, err := destination("registry.example/app:v1", false); err != nil || tag.Scheme() != "https" {
		t.Errorf("destination with TLS = %v, %v", tag, err)
	}
	if _, err := destination("registry.example/app@sha256:"+strings.Repeat("a", 64), false); err == nil || !strings.Contains(err.Error(), "give a tag") {
		t.Errorf("a digest destination: %v", err)
	}
	if _, err := destination("Not A Reference", false); err == nil {
		t.Error("an invalid reference was accepted")
	}
}
