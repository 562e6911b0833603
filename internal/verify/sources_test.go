package verify_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
)

const gitPolicy = `package from_git

import rego.v1

# METADATA
# title: Rule data from https
# description: The data source fetched over https is loaded.
# custom:
#   short_name: data_loaded
deny contains {"code": "from_git.data_loaded", "msg": "no data.remote"} if {
	not data.remote.answer == 42
}

# METADATA
# title: Always warns
# custom:
#   short_name: reached
warn contains {"code": "from_git.reached", "msg": "the policy from git was evaluated"}
`

// TestPolicyFromGitAndHTTPS evaluates a policy source written as
// Conforma writes one: the policy from a git repository's subdirectory at
// a tag (served by git's http-backend on 127.0.0.1), its data from an
// https-style URL of a file.
func TestPolicyFromGitAndHTTPS(t *testing.T) {
	const backend = "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend not installed:", err)
	}
	e := setup(t)
	img := e.push(t, e.goodImage("app"))

	work, root := t.TempDir(), t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(work, "init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(work, "policy", "release"), 0o755)
	os.WriteFile(filepath.Join(work, "policy", "release", "p.rego"), []byte(gitPolicy), 0o644)
	os.WriteFile(filepath.Join(work, "README.md"), []byte("not rego\n"), 0o644)
	git(work, "add", "-A")
	git(work, "commit", "-q", "-m", "policy")
	git(work, "tag", "v1")
	git(root, "clone", "-q", "--bare", work, filepath.Join(root, "policy.git"))
	h := &cgi.Handler{Path: backend, Root: "/", Stderr: io.Discard, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "HOME=" + root}}
	gitSrv := httptest.NewServer(h)
	defer gitSrv.Close()
	dataSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/remote.json" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"remote":{"answer":42}}`)
	}))
	defer dataSrv.Close()

	pol := &ecp.Policy{Name: "remote sources", Sources: []ecp.Source{{Name: "remote",
		Policy: []string{"git::" + gitSrv.URL + "/policy.git//policy/release?ref=v1"},
		Data:   []string{dataSrv.URL + "/remote.json"}}}}
	rep := e.verify(t, pol, []verify.Image{{Name: "app", Ref: img.String()}}, verify.WithCacheDir(t.TempDir()), verify.WithSuccesses(true))
	c := rep.Components[0]
	if c.Error != "" {
		t.Fatal(c.Error)
	}
	if len(c.Violations) != 0 || !codes(c.Warnings)["from_git.reached"] || !codes(c.Successes)["from_git.data_loaded"] {
		t.Errorf("violations %+v, warnings %+v, successes %v", c.Violations, c.Warnings, codes(c.Successes))
	}

	// A source that cannot be fetched is bad input naming it.
	pol.Sources[0].Policy = []string{"git::" + gitSrv.URL + "/policy.git//policy/release?ref=v2"}
	_, err := verify.New(t.Context(), pol, e.key, verify.WithCacheDir(t.TempDir()))
	if err == nil || !errors.Is(err, verify.ErrBadInput) {
		t.Fatalf("unknown tag: %v, want ErrBadInput", err)
	}
	for _, want := range []string{"sources[0].policy", "ref=v2", `revision "v2"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
