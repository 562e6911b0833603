package gitclone

import (
	"context"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a real repository with two commits on main, a tag on the
// first, and a feature branch, served over smart HTTP by git http-backend.
type fixture struct {
	dir     string // the bare repository
	url     string // its smart-HTTP URL
	first   string // SHA of the first commit (tagged v1.0.0)
	second  string // SHA of main's head
	feature string // SHA of the feature branch head
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	os.MkdirAll(work, 0o755)
	runGit(t, work, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(work, "README"), []byte("one\n"), 0o644)
	runGit(t, work, "add", ".")
	runGit(t, work, "commit", "-q", "-m", "first")
	first := runGit(t, work, "rev-parse", "HEAD")
	runGit(t, work, "tag", "-a", "v1.0.0", "-m", "release")
	runGit(t, work, "checkout", "-q", "-b", "feature")
	os.WriteFile(filepath.Join(work, "FEATURE"), []byte("f\n"), 0o644)
	runGit(t, work, "add", ".")
	runGit(t, work, "commit", "-q", "-m", "feature")
	feature := runGit(t, work, "rev-parse", "HEAD")
	runGit(t, work, "checkout", "-q", "main")
	os.WriteFile(filepath.Join(work, "README"), []byte("two\n"), 0o644)
	runGit(t, work, "commit", "-q", "-am", "second")
	second := runGit(t, work, "rev-parse", "HEAD")

	bare := filepath.Join(root, "srv", "repo.git")
	runGit(t, root, "clone", "-q", "--bare", work, bare)
	runGit(t, bare, "config", "http.receivepack", "false")

	backend, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	handler := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(backend)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Join(root, "srv"), "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return fixture{dir: bare, url: srv.URL + "/repo.git", first: first, second: second, feature: feature}
}

func TestCloneOverSmartHTTP(t *testing.T) {
	fx := newFixture(t)
	cases := []struct {
		name, revision, want, file string
	}{
		{"default branch", "", fx.second, "README"},
		{"branch", "feature", fx.feature, "FEATURE"},
		{"tag", "v1.0.0", fx.first, "README"},
		{"full ref", "refs/heads/feature", fx.feature, "FEATURE"},
		{"commit", fx.first, fx.first, "README"},
		{"short commit", fx.feature[:10], fx.feature, "FEATURE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "src")
			res, err := Clone(context.Background(), fx.url, dir, WithRevision(c.revision))
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != c.want || res.ShortCommit != c.want[:7] {
				t.Errorf("commit = %s (%s), want %s", res.Commit, res.ShortCommit, c.want)
			}
			if res.URL != fx.url {
				t.Errorf("url = %s", res.URL)
			}
			if res.CommitTimestamp != 1767323045 { // 2026-01-02T03:04:05Z
				t.Errorf("commit timestamp = %d", res.CommitTimestamp)
			}
			if _, err := os.Stat(filepath.Join(dir, c.file)); err != nil {
				t.Errorf("checkout lacks %s: %v", c.file, err)
			}
		})
	}
}

func TestShallowByDefault(t *testing.T) {
	fx := newFixture(t)
	dir := t.TempDir()
	if _, err := Clone(context.Background(), fx.url, dir); err != nil {
		t.Fatal(err)
	}
	if n := runGit(t, dir, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("shallow clone has %s commits, want 1", n)
	}
	full := t.TempDir()
	if _, err := Clone(context.Background(), fx.url, full, WithDepth(0)); err != nil {
		t.Fatal(err)
	}
	if n := runGit(t, full, "rev-list", "--count", "HEAD"); n != "2" {
		t.Errorf("full clone has %s commits, want 2", n)
	}
}

func TestCloneFromLocalPath(t *testing.T) {
	fx := newFixture(t)
	dir := t.TempDir()
	res, err := Clone(context.Background(), fx.dir, dir, WithRevision("feature"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != fx.feature {
		t.Errorf("commit = %s, want %s", res.Commit, fx.feature)
	}
}

func TestCloneErrors(t *testing.T) {
	fx := newFixture(t)
	nonEmpty := t.TempDir()
	os.WriteFile(filepath.Join(nonEmpty, "keep"), []byte("x"), 0o644)
	cases := []struct {
		name, url, rev, dir, want string
	}{
		{"missing revision", fx.url, "no-such-branch", t.TempDir(), `revision "no-such-branch" not found`},
		{"missing commit", fx.url, strings.Repeat("ab", 20), t.TempDir(), "not found in"},
		{"unreachable", "http://127.0.0.1:1/repo.git", "", t.TempDir(), "cloning http://127.0.0.1:1/repo.git"},
		{"not a repository", strings.TrimSuffix(fx.url, "repo.git") + "nope.git", "", t.TempDir(), "nope.git"},
		{"non-empty target", fx.url, "", nonEmpty, "is not empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Clone(context.Background(), c.url, c.dir, WithRevision(c.rev))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ...%s...", err, c.want)
			}
			entries, _ := os.ReadDir(c.dir)
			if c.name != "non-empty target" && len(entries) != 0 {
				t.Errorf("a failed clone left %d entries behind", len(entries))
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(nonEmpty, "keep")); string(b) != "x" {
		t.Error("refusing a non-empty target must not touch it")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:tok@example.com/r.git": "https://example.com/r.git",
		"https://example.com/r.git":          "https://example.com/r.git",
		"/local/path":                        "/local/path",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLineProgressDropsRedraws(t *testing.T) {
	var b strings.Builder
	w := LineProgress(&b)
	w.Write([]byte("Counting 1%\rCounting 50%\rCounting 100%, done.\nTotal 3\n"))
	if got := b.String(); got != "Counting 100%, done.\nTotal 3\n" {
		t.Errorf("got %q", got)
	}
}
