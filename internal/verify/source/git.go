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
	g := &gitFetch{location: location, loc: loc}
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	if err := g.resolveRevision(ctx); err != nil {
		return nil, err
	}
	if !g.want.IsZero() && cached(r.gitEntry(loc, g.want)) {
		return r.gitResolved(location, r.gitEntry(loc, g.want))
	}
	c, err := g.fetchCommit(ctx)
	if err != nil {
		return nil, err
	}
	if g.want.IsZero() {
		g.want = c.Hash
	}
	dir := r.gitEntry(loc, g.want)
	if cached(dir) {
		return r.gitResolved(location, dir)
	}
	tree, err := g.subtree(c)
	if err != nil {
		return nil, err
	}
	if err := r.writeGitEntry(g, c.Hash, tree, dir); err != nil {
		return nil, err
	}
	return r.gitResolved(location, dir)
}

// gitFetch is one git location being resolved: what it names and what is
// known of its revision so far.
type gitFetch struct {
	location string
	loc      ecp.Location
	want     plumbing.Hash          // the object the revision names, when known before fetching
	refName  plumbing.ReferenceName // what to fetch; empty: every branch and tag
}

func (g *gitFetch) fail(format string, a ...any) error {
	return fmt.Errorf("policy location %q: "+format, append([]any{g.location}, a...)...)
}

// resolveRevision sets want and refName from the revision, listing the
// remote only when the revision is a name.
func (g *gitFetch) resolveRevision(ctx context.Context) error {
	switch {
	case fullHash.MatchString(g.loc.Rev):
		g.want = plumbing.NewHash(g.loc.Rev)
	case shortHash.MatchString(g.loc.Rev):
		// Only a full fetch can tell which commit a short hash is.
	default:
		rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{g.loc.URL}})
		refs, err := rem.ListContext(ctx, &git.ListOptions{})
		if err != nil {
			return g.fail("listing %s: %w", g.loc.URL, gitError(err))
		}
		ref, err := pickRef(refs, g.loc.Rev)
		if err != nil {
			return g.fail("%w", err)
		}
		g.want, g.refName = ref.Hash(), ref.Name()
	}
	return nil
}

// gitEntry is the cache directory of loc's subdirectory at commit h.
func (r *Resolver) gitEntry(loc ecp.Location, h plumbing.Hash) string {
	key := sha256.Sum256([]byte(loc.URL + "\x00" + loc.Subdir))
	return filepath.Join(r.o.cacheDir, "git-"+h.String()+"-"+hex.EncodeToString(key[:8]))
}

// fetchCommit clones the remote into memory and finds the revision's
// commit in it.
func (g *gitFetch) fetchCommit(ctx context.Context) (*object.Commit, error) {
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, g.cloneOptions())
	if err != nil {
		return nil, g.fail("fetching %s: %w", g.loc.URL, gitError(err))
	}
	var c *object.Commit
	switch {
	case g.refName != "":
		c, err = peel(repo, g.want)
	case !g.want.IsZero():
		c, err = repo.CommitObject(g.want)
	default:
		var h *plumbing.Hash
		if h, err = repo.ResolveRevision(plumbing.Revision(g.loc.Rev)); err == nil {
			c, err = repo.CommitObject(*h)
		}
	}
	if err != nil {
		return nil, g.fail("revision %q: no such commit in %s", g.loc.Rev, g.loc.URL)
	}
	return c, nil
}

func (g *gitFetch) cloneOptions() *git.CloneOptions {
	clone := &git.CloneOptions{URL: g.loc.URL, NoCheckout: true, Tags: git.NoTags, Depth: g.loc.Depth}
	if g.refName != "" {
		clone.ReferenceName, clone.SingleBranch = g.refName, true
		if g.loc.Depth == 0 {
			clone.Depth = 1 // the tree is all that is needed
		}
	} else {
		// A commit: fetch what the branches and tags reach, since servers
		// need not let a client fetch an arbitrary commit.
		clone.Tags = git.AllTags
	}
	return clone
}

// subtree is the tree of c's subdirectory the location names (all of c
// when it names none).
func (g *gitFetch) subtree(c *object.Commit) (*object.Tree, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, g.fail("commit %s: %w", c.Hash, err)
	}
	if g.loc.Subdir != "" {
		if tree, err = tree.Tree(g.loc.Subdir); err != nil {
			return nil, g.fail("commit %s has no directory %q", c.Hash, g.loc.Subdir)
		}
	}
	return tree, nil
}

// writeGitEntry fills the cache entry dir with tree's files, stamped with
// commit c, through a temporary entry so that no reader sees half of it.
func (r *Resolver) writeGitEntry(g *gitFetch, c plumbing.Hash, tree *object.Tree, dir string) error {
	tmp, err := r.tempEntry()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	content := filepath.Join(tmp, "content")
	if err := os.MkdirAll(content, 0o755); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	if err := writeTree(tree, content); err != nil {
		return g.fail("commit %s: %w", c, err)
	}
	return commit(tmp, dir, c.String())
}

// writeTree writes tree's regular files under root, within
// MaxArtifactSize in all.
func writeTree(tree *object.Tree, root string) error {
	budget := int64(MaxArtifactSize)
	return tree.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil // symbolic links are not followed; submodules are not fetched
		}
		rc, err := f.Reader()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		defer rc.Close()
		if err := writeFile(root, f.Name, rc, &budget); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		return nil
	})
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
