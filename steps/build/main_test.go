package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/urfave/cli/v2"
	"go.podman.io/buildah"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

func TestMain(m *testing.M) {
	if buildah.InitReexec() {
		return
	}
	os.Exit(m.Run())
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
