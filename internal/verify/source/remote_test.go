package source

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trustline-dev/trustline/internal/testimage"
)

const httpBackend = "/usr/lib/git-core/git-http-backend"

// gitServer is a repository served by git's own http-backend on
// 127.0.0.1, with a count of its fetches (POSTs to git-upload-pack) and of
// all requests.
type gitServer struct {
	url               string
	first, second     string // commits
	requests, fetches atomic.Int64
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func startGitServer(t *testing.T) *gitServer {
	t.Helper()
	if _, err := os.Stat(httpBackend); err != nil {
		t.Skip("git-http-backend not installed:", err)
	}
	work := t.TempDir()
	write := func(p, c string) {
		os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o755)
		if err := os.WriteFile(filepath.Join(work, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, work, "init", "-q", "-b", "main")
	write("policy/lib/lib.rego", "package lib\n\nversion := 1\n")
	write("policy/release/r.rego", "package release\n")
	write("README.md", "outside the subdirectory\n")
	if err := os.Symlink("/etc/passwd", filepath.Join(work, "policy/lib/passwd")); err != nil {
		t.Fatal(err)
	}
	run(t, work, "add", "-A")
	run(t, work, "commit", "-q", "-m", "one")
	run(t, work, "tag", "-a", "-m", "v1", "v1")
	s := &gitServer{first: run(t, work, "rev-parse", "HEAD")}
	write("policy/lib/lib.rego", "package lib\n\nversion := 2\n")
	run(t, work, "commit", "-q", "-am", "two")
	s.second = run(t, work, "rev-parse", "HEAD")
	root := t.TempDir()
	run(t, root, "clone", "-q", "--bare", work, filepath.Join(root, "repo.git"))
	h := &cgi.Handler{Path: httpBackend, Root: "/", Stderr: io.Discard, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			s.fetches.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/repo.git"
	return s
}

func version(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "lib.rego"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(strings.TrimPrefix(string(b), "package lib\n"))
}

func TestGitSubdirectoryAtEachKindOfRevision(t *testing.T) {
	s := startGitServer(t)
	r := New(WithCacheDir(t.TempDir()))
	for _, c := range []struct {
		ref, commit, version string
	}{
		{"", s.second, "version := 2"},
		{"?ref=main", s.second, "version := 2"},
		{"?ref=refs/heads/main", s.second, "version := 2"},
		{"?ref=v1", s.first, "version := 1"}, // an annotated tag, peeled
		{"?ref=" + s.first, s.first, "version := 1"},
		{"?ref=" + s.first[:10], s.first, "version := 1"},
		{"?ref=main&depth=1", s.second, "version := 2"},
	} {
		loc := "git::" + s.url + "//policy/lib" + c.ref
		got, err := r.Resolve(context.Background(), loc)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if got.Commit != c.commit {
			t.Errorf("%s: commit %s, want %s", loc, got.Commit, c.commit)
		}
		if v := version(t, got.Path); v != c.version {
			t.Errorf("%s: lib.rego has %q, want %q", loc, v, c.version)
		}
		if _, err := os.Lstat(filepath.Join(got.Path, "passwd")); !os.IsNotExist(err) {
			t.Errorf("%s: the symbolic link was written: %v", loc, err)
		}
		if _, err := os.Stat(filepath.Join(got.Path, "..", "README.md")); !os.IsNotExist(err) {
			t.Errorf("%s: a file outside the subdirectory was written", loc)
		}
	}
	// The whole tree without a subdirectory, with Conforma's ?ref=REV//SUBDIR.
	whole, err := r.Resolve(context.Background(), "git::"+s.url+"?ref=main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(whole.Path, "README.md")); err != nil {
		t.Error(err)
	}
	sub, err := r.Resolve(context.Background(), "git::"+s.url+"?ref=v1//policy/lib")
	if err != nil || version(t, sub.Path) != "version := 1" {
		t.Errorf("?ref=v1//policy/lib: %v", err)
	}
}

func TestGitCacheByCommit(t *testing.T) {
	s := startGitServer(t)
	cache := t.TempDir()
	r := New(WithCacheDir(cache))
	pinned := "git::" + s.url + "//policy/lib?ref=" + s.first
	if _, err := r.Resolve(context.Background(), pinned); err != nil {
		t.Fatal(err)
	}
	before := s.requests.Load()
	got, err := r.Resolve(context.Background(), pinned)
	if err != nil || version(t, got.Path) != "version := 1" {
		t.Fatalf("cached resolve: %v", err)
	}
	if n := s.requests.Load() - before; n != 0 {
		t.Errorf("a commit already cached made %d requests, want 0", n)
	}
	// A branch is listed every time (it moves) but fetched only once per commit.
	branch := "git::" + s.url + "//policy/lib?ref=main"
	if _, err := r.Resolve(context.Background(), branch); err != nil {
		t.Fatal(err)
	}
	fetches := s.fetches.Load()
	if _, err := r.Resolve(context.Background(), branch); err != nil {
		t.Fatal(err)
	}
	if n := s.fetches.Load() - fetches; n != 0 {
		t.Errorf("a cached branch commit was fetched %d more times", n)
	}
	// Another subdirectory of the same commit is its own entry.
	rel, err := r.Resolve(context.Background(), "git::"+s.url+"//policy/release?ref=main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rel.Path, "r.rego")); err != nil {
		t.Error(err)
	}
	entries, _ := os.ReadDir(cache)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 {
		t.Errorf("cache entries %v, want 3 (first commit, main, main's release)", names)
	}
}

func TestGitErrorsNameTheSource(t *testing.T) {
	s := startGitServer(t)
	r := New(WithCacheDir(t.TempDir()))
	for loc, want := range map[string]string{
		"git::" + s.url + "//policy/lib?ref=nope":                       "revision \"nope\": no branch or tag",
		"git::" + s.url + "//policy/none?ref=main":                      `has no directory "policy/none"`,
		"git::" + s.url + "//policy/lib?ref=" + strings.Repeat("e", 40): "no such commit",
		"git::" + strings.TrimSuffix(s.url, "repo.git") + "missing.git": "repository not found",
	} {
		_, err := r.Resolve(context.Background(), loc)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), loc) {
			t.Errorf("Resolve(%s) = %v, want an error naming it and %q", loc, err, want)
		}
	}
}

func TestHTTPFilesAndArchives(t *testing.T) {
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("policy/z.rego")
	w.Write([]byte("package z\n"))
	zw.Close()
	var evil bytes.Buffer
	zw = zip.NewWriter(&evil)
	w, _ = zw.Create("../../escape.rego")
	w.Write([]byte("package e\n"))
	zw.Close()
	var tgz bytes.Buffer
	layer := testimage.Layer(t, testimage.File{Name: "p/t.rego", Body: "package t\n"})
	rc, _ := layer.Compressed()
	tgz.ReadFrom(rc)
	files := map[string][]byte{
		"/rule_data.yml": []byte("rule_data:\n  x: 1\n"),
		"/p.zip":         zipped.Bytes(),
		"/p.tar.gz":      tgz.Bytes(),
		"/evil.zip":      evil.Bytes(),
	}
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://example.invalid/p.zip", http.StatusFound)
			return
		}
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	cache := t.TempDir()
	r := New(WithCacheDir(cache))
	for loc, want := range map[string]string{
		srv.URL + "/rule_data.yml": "rule_data.yml",
		srv.URL + "/p.zip":         "policy/z.rego",
		srv.URL + "/p.tar.gz":      "p/t.rego",
	} {
		got, err := r.Resolve(context.Background(), loc)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if !strings.HasPrefix(got.Digest, "sha256:") {
			t.Errorf("%s: digest %q", loc, got.Digest)
		}
		if _, err := os.Stat(filepath.Join(got.Path, want)); err != nil {
			t.Errorf("%s: %v", loc, err)
		}
		again, err := r.Resolve(context.Background(), loc)
		if err != nil || again.Path != got.Path {
			t.Errorf("%s: second resolve %v %v, want the same cache entry", loc, again, err)
		}
	}
	for loc, want := range map[string]string{
		srv.URL + "/missing.rego": "404",
		srv.URL + "/evil.zip":     "leaves the artifact",
		srv.URL + "/redirect":     "only https is followed",
	} {
		_, err := r.Resolve(context.Background(), loc)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), loc) {
			t.Errorf("Resolve(%s) = %v, want an error naming it and %q", loc, err, want)
		}
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 3 {
		t.Errorf("cache has %d entries, want 3 (failed downloads leave none)", len(entries))
	}
}
