package gitclone

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// plainClone is git.PlainCloneContext with a worktree file system that
// keeps symbolic links exactly as committed. go-billy's chroot rewrites an
// absolute link target ("/etc/passwd") into one below the checkout
// ("<dir>/etc/passwd"), so the checkout differed from the commit. The
// target is text the step never follows: go-git writes every file through
// the chroot, removing a link that stands in its way, so a link to
// anywhere cannot make a write land outside dir.
func plainClone(ctx context.Context, dir string, o *git.CloneOptions) (*git.Repository, error) {
	wt := osfs.New(dir)
	dot, err := wt.Chroot(git.GitDirName)
	if err != nil {
		return nil, err
	}
	return git.CloneContext(ctx, filesystem.NewStorage(dot, cache.NewObjectLRUDefault()), keepLinks{wt}, o)
}

// keepLinks is a chroot file system whose Symlink writes the target
// unchanged. Chroot keeps that for submodules' worktrees.
type keepLinks struct{ billy.Filesystem }

func (f keepLinks) Symlink(target, link string) error {
	full, err := f.inside(link)
	if err != nil {
		return err
	}
	if err := f.Filesystem.MkdirAll(filepath.Dir(filepath.Clean("/"+link)), 0o755); err != nil {
		return err
	}
	return os.Symlink(filepath.FromSlash(target), full)
}

func (f keepLinks) Readlink(link string) (string, error) {
	full, err := f.inside(link)
	if err != nil {
		return "", err
	}
	return os.Readlink(full)
}

func (f keepLinks) Chroot(p string) (billy.Filesystem, error) {
	c, err := f.Filesystem.Chroot(p)
	if err != nil {
		return nil, err
	}
	return keepLinks{c}, nil
}

// inside maps a worktree path to the host path below the root, refusing
// one that climbs out, as the chroot does.
func (f keepLinks) inside(p string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(p))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("path %q is outside the checkout", p)
	}
	return filepath.Join(f.Root(), clean), nil
}

// checkoutError explains what go-git reports in its own terms: a tree
// whose entries cannot all be paths of one directory (an entry name with
// a slash, "..", ".git" or a duplicate) surfaces as "directory not found".
func checkoutError(what string, err error) error {
	if errors.Is(err, object.ErrDirectoryNotFound) || strings.Contains(err.Error(), "invalid path") {
		return fmt.Errorf("%s: the commit's tree is malformed or hostile (an entry named with \"/\", \"..\" or \".git\", or a name used twice), refusing to check it out: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
