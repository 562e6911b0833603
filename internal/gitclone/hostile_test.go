package gitclone

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// commitTree makes a bare repository whose main branch is one commit of
// the tree mktree builds from lines ("<mode> <type> <sha>\t<name>").
func commitTree(t *testing.T, lines func(blob func(string) string) []string) string {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "repo.git")
	runGit(t, filepath.Dir(bare), "init", "-q", "--bare", "-b", "main", bare)
	blob := func(content string) string {
		cmd := exec.Command("git", "hash-object", "-w", "--stdin")
		cmd.Dir, cmd.Stdin = bare, strings.NewReader(content)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	cmd := exec.Command("git", "mktree", "--missing")
	cmd.Dir, cmd.Stdin = bare, strings.NewReader(strings.Join(lines(blob), "\n")+"\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mktree: %v %s", err, out)
	}
	commit := runGit(t, bare, "commit-tree", "-m", "hostile", strings.TrimSpace(string(out)))
	runGit(t, bare, "update-ref", "refs/heads/main", commit)
	return bare
}

// Symbolic links are checked out with their target text as committed,
// absolute or climbing, and nothing is written outside the checkout.
func TestSymlinksKeptAsCommitted(t *testing.T) {
	repo := commitTree(t, func(blob func(string) string) []string {
		return []string{
			"120000 blob " + blob("/etc/passwd") + "\tpasswd",
			"120000 blob " + blob("../../outside") + "\tclimb",
			"100644 blob " + blob("hello\n") + "\tREADME",
		}
	})
	for _, rev := range []string{"main", ""} {
		dir := filepath.Join(t.TempDir(), "src")
		if rev == "" {
			rev = runGit(t, repo, "rev-parse", "main")
		}
		if _, err := Clone(context.Background(), repo, dir, WithRevision(rev)); err != nil {
			t.Fatal(err)
		}
		for link, want := range map[string]string{"passwd": "/etc/passwd", "climb": "../../outside"} {
			got, err := os.Readlink(filepath.Join(dir, link))
			if err != nil || got != want {
				t.Errorf("revision %s: %s -> %q (%v), want %q as committed", rev, link, got, err, want)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "README")); string(b) != "hello\n" {
			t.Errorf("README = %q", b)
		}
	}
}

// A tree no git client would write (an entry "..", ".git", a name used
// twice) is refused with an error that says so, and nothing is left.
func TestHostileTreeRefused(t *testing.T) {
	for _, name := range []string{"..", ".git", "dup"} {
		t.Run(name, func(t *testing.T) {
			repo := commitTree(t, func(blob func(string) string) []string {
				b := blob("x\n")
				lines := []string{"100644 blob " + b + "\t" + name}
				if name == "dup" {
					lines = append(lines, "040000 tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\tdup")
				}
				return lines
			})
			dir := filepath.Join(t.TempDir(), "src")
			_, err := Clone(context.Background(), repo, dir, WithRevision("main"))
			if err == nil || !strings.Contains(err.Error(), "malformed or hostile") {
				t.Fatalf("err = %v, want a hostile-tree error", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("a refused clone left %d entries", len(ents))
			}
		})
	}
}

// A submodule whose repository is gone is named in the error.
func TestMissingSubmoduleNamed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone.git")
	repo := commitTree(t, func(blob func(string) string) []string {
		gm := fmt.Sprintf("[submodule \"vendor-lib\"]\n\tpath = lib\n\turl = %s\n", missing)
		return []string{
			"100644 blob " + blob(gm) + "\t.gitmodules",
			"160000 commit " + strings.Repeat("ab", 20) + "\tlib",
		}
	})
	_, err := Clone(context.Background(), repo, filepath.Join(t.TempDir(), "src"), WithRevision("main"), WithSubmodules(true))
	if err == nil || !strings.Contains(err.Error(), `submodule "vendor-lib"`) {
		t.Fatalf("err = %v, want it to name submodule vendor-lib", err)
	}
}
