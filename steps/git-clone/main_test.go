package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/stepcli"
)

func localRepo(t *testing.T) (dir, sha string) {
	t.Helper()
	dir = t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"commit", "-q", "--allow-empty", "-m", "one"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	out, _ := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	return dir, strings.TrimSpace(string(out))
}

// The step writes its six results, one file each, without newlines.
func TestStepWritesResults(t *testing.T) {
	repo, sha := localRepo(t)
	results := t.TempDir()
	code := stepcli.Run(newApp(), []string{"git-clone", "--url", repo, "--target", filepath.Join(t.TempDir(), "src"), "--results-dir", results}, io.Discard)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := map[string]string{"commit": sha, "url": repo, "short-commit": sha[:7], "CHAINS-GIT_URL": repo, "CHAINS-GIT_COMMIT": sha}
	for name, v := range want {
		b, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(b) != v {
			t.Errorf("result %s = %q, %v; want %q", name, b, err, v)
		}
	}
	if b, err := os.ReadFile(filepath.Join(results, "commit-timestamp")); err != nil || len(b) < 10 || strings.ContainsAny(string(b), "\n ") {
		t.Errorf("commit-timestamp = %q, %v", b, err)
	}
}

func TestStepFailsClearly(t *testing.T) {
	repo, _ := localRepo(t)
	var stderr strings.Builder
	results := t.TempDir()
	code := stepcli.Run(newApp(), []string{"git-clone", "--url", repo, "--revision", "nope", "--target", t.TempDir(), "--results-dir", results}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `revision "nope" not found`) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if entries, _ := os.ReadDir(results); len(entries) != 0 {
		t.Errorf("a failed clone wrote %d results", len(entries))
	}
	if code := stepcli.Run(newApp(), []string{"git-clone", "--target", t.TempDir()}, io.Discard); code == 0 {
		t.Error("missing --url must fail")
	}
}
