// Package gitclone clones a Git repository at a revision with go-git, for
// the git-clone task: shallow by default, a branch, tag or commit, optional
// submodules, into an empty directory, and reports what it checked out in
// the shape Tekton Chains and Konflux expect (commit, url, short commit,
// commit timestamp).
package gitclone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Result is what was checked out.
type Result struct {
	// URL is the repository URL without any credentials.
	URL string `json:"url"`
	// Commit is the full SHA-1 of the checked-out commit.
	Commit string `json:"commit"`
	// ShortCommit is its first seven characters.
	ShortCommit string `json:"short-commit"`
	// CommitTimestamp is the committer time, in Unix seconds.
	CommitTimestamp int64 `json:"commit-timestamp"`
	// Ref is the branch or tag that was resolved, empty for a commit.
	Ref string `json:"ref,omitempty"`
}

type options struct {
	revision       string
	depth          int
	submodules     bool
	deleteExisting bool
	progress       io.Writer
}

// Option configures Clone.
type Option func(*options)

// WithRevision checks out a branch, tag, full ref or commit SHA (default:
// the remote's default branch).
func WithRevision(rev string) Option { return func(o *options) { o.revision = rev } }

// WithDepth sets the history depth (default 1; 0 fetches all history).
// Commits given by SHA are fetched with full history, since servers need
// not allow fetching an arbitrary commit.
func WithDepth(n int) Option { return func(o *options) { o.depth = n } }

// WithSubmodules also clones submodules, recursively (default off).
func WithSubmodules(on bool) Option { return func(o *options) { o.submodules = on } }

// WithDeleteExisting empties the target directory first instead of
// refusing a non-empty one (default off).
func WithDeleteExisting(on bool) Option { return func(o *options) { o.deleteExisting = on } }

// WithProgress sends git's progress messages to w (default: discarded).
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

var (
	fullSHA  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	shortSHA = regexp.MustCompile(`^[0-9a-f]{7,39}$`)
)

// Clone clones repoURL into dir, which must be empty or absent. On failure
// dir is left as it was found: nothing half-cloned remains.
func Clone(ctx context.Context, repoURL, dir string, opts ...Option) (*Result, error) {
	o := options{depth: 1}
	for _, opt := range opts {
		opt(&o)
	}
	if repoURL == "" {
		return nil, errors.New("no repository URL given")
	}
	if o.depth < 0 {
		return nil, fmt.Errorf("depth %d: must be 0 (full history) or more", o.depth)
	}
	if err := prepareDir(dir, o.deleteExisting); err != nil {
		return nil, err
	}
	res, err := clone(ctx, repoURL, dir, o)
	if err != nil {
		cleanDir(dir)
		return nil, err
	}
	return res, nil
}

func clone(ctx context.Context, repoURL, dir string, o options) (*Result, error) {
	j := &cloneJob{dir: dir, safeURL: RedactURL(repoURL), base: baseCloneOptions(repoURL, o), o: o}
	var repo *git.Repository
	var ref string
	var err error
	if rev := o.revision; fullSHA.MatchString(rev) || shortSHA.MatchString(rev) {
		repo, err = j.cloneCommit(ctx)
	} else {
		repo, ref, err = j.cloneFirstRef(ctx)
	}
	if err != nil {
		return nil, err
	}
	if o.submodules {
		wt, err := repo.Worktree()
		if err != nil {
			return nil, err
		}
		if err := updateSubmodules(ctx, wt, o.depth); err != nil {
			return nil, err
		}
	}
	return checkedOut(repo, j.safeURL, ref)
}

// cloneJob is what every way of cloning needs.
type cloneJob struct {
	dir     string
	safeURL string           // the URL without credentials, for messages
	base    git.CloneOptions // what every clone shares
	o       options
}

func baseCloneOptions(repoURL string, o options) git.CloneOptions {
	base := git.CloneOptions{
		URL:      repoURL,
		Progress: o.progress,
		Tags:     git.NoTags,
	}
	if o.submodules {
		base.RecurseSubmodules = git.DefaultSubmoduleRecursionDepth
		base.ShallowSubmodules = o.depth > 0
	}
	return base
}

// cloneCommit fetches everything reachable, then checks the commit out.
func (j *cloneJob) cloneCommit(ctx context.Context) (*git.Repository, error) {
	rev := j.o.revision
	cl := j.base
	cl.NoCheckout = true
	cl.Tags = git.AllTags
	cl.RecurseSubmodules = git.NoRecurseSubmodules
	repo, err := plainClone(ctx, j.dir, &cl)
	if err != nil {
		return nil, remoteError(j.safeURL, err)
	}
	hash, rerr := repo.ResolveRevision(plumbing.Revision(rev))
	if rerr != nil {
		return nil, fmt.Errorf("revision %q not found in %s", rev, j.safeURL)
	}
	wt, werr := repo.Worktree()
	if werr != nil {
		return nil, werr
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: *hash, Force: true}); err != nil {
		return nil, checkoutError("checking out "+rev, err)
	}
	return repo, nil
}

// cloneFirstRef clones the first of the refs the revision may name that
// the remote has (a branch or tag, or the remote's default branch), and
// returns the ref it resolved.
func (j *cloneJob) cloneFirstRef(ctx context.Context) (*git.Repository, string, error) {
	for _, name := range refCandidates(j.o.revision) {
		cl := j.base
		cl.ReferenceName = name
		cl.SingleBranch = true
		// Submodules after the clone, so an error names the submodule.
		cl.RecurseSubmodules = git.NoRecurseSubmodules
		cl.Depth = j.o.depth
		repo, err := plainClone(ctx, j.dir, &cl)
		if err == nil {
			return repo, name.Short(), nil
		}
		cleanDir(j.dir)
		if !isRefNotFound(err) {
			return nil, "", remoteError(j.safeURL, err)
		}
	}
	return nil, "", fmt.Errorf("revision %q not found in %s: no branch or tag of that name", j.o.revision, j.safeURL)
}

// refCandidates are the refs rev may name, in the order they are tried:
// "" is the remote's default branch.
func refCandidates(rev string) []plumbing.ReferenceName {
	switch {
	case rev == "":
		return []plumbing.ReferenceName{""}
	case strings.HasPrefix(rev, "refs/"):
		return []plumbing.ReferenceName{plumbing.ReferenceName(rev)}
	default:
		return []plumbing.ReferenceName{plumbing.NewBranchReferenceName(rev), plumbing.NewTagReferenceName(rev)}
	}
}

// checkedOut reads what the clone's HEAD is.
func checkedOut(repo *git.Repository, safeURL, ref string) (*Result, error) {
	head, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("reading HEAD of the clone: %w", err)
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", head.Hash(), err)
	}
	sha := commit.Hash.String()
	return &Result{
		URL:             safeURL,
		Commit:          sha,
		ShortCommit:     sha[:7],
		CommitTimestamp: commit.Committer.When.Unix(),
		Ref:             ref,
	}, nil
}

func updateSubmodules(ctx context.Context, wt *git.Worktree, depth int) error {
	subs, err := wt.Submodules()
	if err != nil {
		return fmt.Errorf("reading submodules: %w", err)
	}
	// One at a time, so an error names the submodule that caused it.
	for _, sub := range subs {
		if err := sub.UpdateContext(ctx, &git.SubmoduleUpdateOptions{Init: true, RecurseSubmodules: git.DefaultSubmoduleRecursionDepth, Depth: depth}); err != nil {
			c := sub.Config()
			return fmt.Errorf("submodule %q (path %s, url %s): %w", c.Name, c.Path, RedactURL(c.URL), err)
		}
	}
	return nil
}

func isRefNotFound(err error) bool {
	var noMatch git.NoMatchingRefSpecError
	return errors.Is(err, plumbing.ErrReferenceNotFound) || errors.As(err, &noMatch) ||
		strings.Contains(err.Error(), "couldn't find remote ref")
}

func remoteError(url string, err error) error {
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("repository %s not found", url)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("repository %s: authentication required or refused", url)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("repository %s is empty", url)
	case errors.Is(err, object.ErrDirectoryNotFound), strings.Contains(err.Error(), "invalid path"):
		return checkoutError("cloning "+url, err)
	}
	return fmt.Errorf("cloning %s: %w", url, err)
}

// RedactURL drops credentials from a URL, so they never reach results,
// logs or provenance.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

func prepareDir(dir string, deleteExisting bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("target directory %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !deleteExisting {
		return fmt.Errorf("target directory %s is not empty (%d entries); use an empty directory or --delete-existing", dir, len(entries))
	}
	cleanDir(dir)
	return nil
}

// cleanDir removes a directory's contents but keeps the directory, which
// may be a mounted workspace.
func cleanDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// LineProgress adapts git's progress stream, which redraws one line with
// carriage returns, to a log: only completed lines reach w.
func LineProgress(w io.Writer) io.Writer { return &lineProgress{w: w} }

type lineProgress struct {
	w   io.Writer
	cur []byte
}

func (p *lineProgress) Write(b []byte) (int, error) {
	for _, c := range b {
		switch c {
		case '\r':
			p.cur = p.cur[:0]
		case '\n':
			p.cur = append(p.cur, c)
			if _, err := p.w.Write(p.cur); err != nil {
				return 0, err
			}
			p.cur = p.cur[:0]
		default:
			p.cur = append(p.cur, c)
		}
	}
	return len(b), nil
}
