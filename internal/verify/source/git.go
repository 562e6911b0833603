package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/trustline-dev/trustline/internal/verify/ecp"
)

var (
	fullHash  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	shortHash = regexp.MustCompile(`^[0-9a-f]{7,39}$`)
)

// git resolves a git source: the revision to an object by listing the
// remote (a full commit hash needs no listing, so a cached commit needs no
// network), then, unless cached, a fetch into memory and the regular files
// of the subdirectory written out.
func (r *Resolver) git(ctx context.Context, location string, loc ecp.Location) (*Resolved, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("policy location %q: "+format, append([]any{location}, a...)...)
	}
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	var want plumbing.Hash             // the object the revision names, when known before fetching
	var refName plumbing.ReferenceName // what to fetch; empty: every branch and tag
	switch {
	case fullHash.MatchString(loc.Rev):
		want = plumbing.NewHash(loc.Rev)
	case shortHash.MatchString(loc.Rev):
		// Only a full fetch can tell which commit a short hash is.
	default:
		rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{loc.URL}})
		refs, err := rem.ListContext(ctx, &git.ListOptions{})
		if err != nil {
			return nil, fail("listing %s: %w", loc.URL, gitError(err))
		}
		ref, err := pickRef(refs, loc.Rev)
		if err != nil {
			return nil, fail("%w", err)
		}
		want, refName = ref.Hash(), ref.Name()
	}
	key := sha256.Sum256([]byte(loc.URL + "\x00" + loc.Subdir))
	entry := func(h plumbing.Hash) string {
		return filepath.Join(r.o.cacheDir, "git-"+h.String()+"-"+hex.EncodeToString(key[:8]))
	}
	if !want.IsZero() && cached(entry(want)) {
		return r.gitResolved(location, entry(want))
	}
	clone := &git.CloneOptions{URL: loc.URL, NoCheckout: true, Tags: git.NoTags, Depth: loc.Depth}
	if refName != "" {
		clone.ReferenceName, clone.SingleBranch = refName, true
		if loc.Depth == 0 {
			clone.Depth = 1 // the tree is all that is needed
		}
	} else {
		// A commit: fetch what the branches and tags reach, since servers
		// need not let a client fetch an arbitrary commit.
		clone.Tags = git.AllTags
	}
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, clone)
	if err != nil {
		return nil, fail("fetching %s: %w", loc.URL, gitError(err))
	}
	var c *object.Commit
	switch {
	case refName != "":
		c, err = peel(repo, want)
	case !want.IsZero():
		c, err = repo.CommitObject(want)
	default:
		var h *plumbing.Hash
		if h, err = repo.ResolveRevision(plumbing.Revision(loc.Rev)); err == nil {
			c, err = repo.CommitObject(*h)
		}
	}
	if err != nil {
		return nil, fail("revision %q: no such commit in %s", loc.Rev, loc.URL)
	}
	if want.IsZero() {
		want = c.Hash
	}
	dir := entry(want)
	if cached(dir) {
		return r.gitResolved(location, dir)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fail("commit %s: %w", c.Hash, err)
	}
	if loc.Subdir != "" {
		if tree, err = tree.Tree(loc.Subdir); err != nil {
			return nil, fail("commit %s has no directory %q", c.Hash, loc.Subdir)
		}
	}
	tmp, err := r.tempEntry()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	content := filepath.Join(tmp, "content")
	if err := os.MkdirAll(content, 0o755); err != nil {
		return nil, fmt.Errorf("policy cache: %w", err)
	}
	budget := int64(MaxArtifactSize)
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil // symbolic links are not followed; submodules are not fetched
		}
		rc, err := f.Reader()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		defer rc.Close()
		if err := writeFile(content, f.Name, rc, &budget); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, fail("commit %s: %w", c.Hash, err)
	}
	if err := commit(tmp, dir, c.Hash.String()); err != nil {
		return nil, err
	}
	return r.gitResolved(location, dir)
}

func (r *Resolver) gitResolved(location, dir string) (*Resolved, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".complete"))
	if err != nil {
		return nil, fmt.Errorf("policy cache: %w", err)
	}
	return &Resolved{Location: location, Path: filepath.Join(dir, "content"), Commit: strings.TrimSpace(string(b))}, nil
}

// pickRef finds the revision among the remote's references as git does: a
// full reference name, else a branch, else a tag; no revision means the
// remote's HEAD.
func pickRef(refs []*plumbing.Reference, rev string) (*plumbing.Reference, error) {
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	var candidates []plumbing.ReferenceName
	switch {
	case rev == "":
		head, ok := byName[plumbing.HEAD]
		if !ok {
			return nil, errors.New("the remote has no HEAD; name a branch, tag or commit with ?ref=")
		}
		if head.Type() == plumbing.HashReference {
			// A detached HEAD: fetch a branch that points there.
			for _, r := range refs {
				if r.Name().IsBranch() && r.Hash() == head.Hash() {
					return r, nil
				}
			}
			return nil, errors.New("the remote's HEAD is on no branch; name a branch, tag or commit with ?ref=")
		}
		candidates = []plumbing.ReferenceName{head.Target()}
	case strings.HasPrefix(rev, "refs/"):
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(rev)}
	default:
		candidates = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(rev), plumbing.NewTagReferenceName(rev)}
	}
	for _, n := range candidates {
		if r, ok := byName[n]; ok && r.Type() == plumbing.HashReference {
			return r, nil
		}
	}
	return nil, fmt.Errorf("revision %q: no branch or tag of that name", rev)
}

// peel follows annotated tags to the commit.
func peel(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		tag, err := repo.TagObject(h)
		if err != nil {
			break
		}
		h = tag.Target
	}
	return repo.CommitObject(h)
}

func gitError(err error) error {
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return errors.New("repository not found")
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return errors.New("authentication required or refused")
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return errors.New("the repository is empty")
	}
	return err
}
