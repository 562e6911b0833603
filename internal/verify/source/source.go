// Package source turns the locations of a policy source, written as
// Conforma writes them (see ecp.ParseLocation), into local directories:
//
//   - a local path is used as it is (relative to the policy file's
//     directory);
//   - an "oci::REF" artifact is resolved to its digest, pulled once into a
//     cache directory named by that digest and reused by later runs.
//     Conftest/Conforma policy bundles (one file per layer, named by
//     org.opencontainers.image.title) and tar(.gz) layers (OPA bundles)
//     are both understood;
//   - a "git::URL//SUBDIR?ref=REV" repository is resolved to a commit
//     (branch and tag by listing the remote, a full commit hash as it
//     is), fetched with go-git into memory and the regular files of
//     SUBDIR written to a cache directory named by that commit, URL and
//     SUBDIR; symbolic links and submodules are left out, so a policy
//     cannot reach outside its checkout;
//   - an "https://…" file is downloaded, cached by the SHA-256 of its
//     bytes, and unpacked when its name ends in .tar, .tar.gz, .tgz or
//     .zip.
//
// Every artifact is bounded by MaxArtifactSize, and every error names the
// location it is about.
package source

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/verify/ecp"
)

// Resolved is a location ready to load.
type Resolved struct {
	Location string // as written in the policy
	Path     string // local directory or file
	Digest   string // sha256:… of an OCI artifact or https file, empty for local paths and git
	Commit   string // the commit of a git source
}

type options struct {
	cacheDir string
	baseDir  string
	remote   []remote.Option
	insecure bool
	client   *http.Client
}

// Option configures a Resolver.
type Option func(*options)

// WithCacheDir is where pulled artifacts are kept, one directory per
// digest. Default: a directory under os.TempDir().
func WithCacheDir(d string) Option { return func(o *options) { o.cacheDir = d } }

// WithBaseDir resolves relative local paths (default: the working
// directory).
func WithBaseDir(d string) Option { return func(o *options) { o.baseDir = d } }

// WithRemoteOptions are used for registry calls.
func WithRemoteOptions(r ...remote.Option) Option { return func(o *options) { o.remote = r } }

// WithInsecure allows plain HTTP to any registry (loopback always may).
func WithInsecure(b bool) Option { return func(o *options) { o.insecure = b } }

// WithHTTPClient is used for https sources (default: a client with a
// five-minute timeout). Git sources use go-git's own transport.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// Resolver resolves locations.
type Resolver struct{ o options }

// New returns a Resolver.
func New(opts ...Option) *Resolver {
	o := options{cacheDir: filepath.Join(os.TempDir(), "trustline-policy-cache")}
	for _, opt := range opts {
		opt(&o)
	}
	return &Resolver{o: o}
}

// Media types of conftest-pushed policy bundles.
const (
	regoLayer = "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego"
	dataLayer = "application/vnd.cncf.openpolicyagent.data.layer.v1+json"
	titleAnn  = "org.opencontainers.image.title"
)

// MaxArtifactSize bounds what one policy artifact may unpack to.
const MaxArtifactSize = 64 << 20

// Resolve returns the local path of location.
func (r *Resolver) Resolve(ctx context.Context, location string) (*Resolved, error) {
	loc, err := ecp.ParseLocation(location)
	if err != nil {
		return nil, err
	}
	switch loc.Kind {
	case ecp.KindGit:
		return r.git(ctx, location, loc)
	case ecp.KindHTTP:
		return r.download(ctx, location, loc.URL)
	case ecp.KindLocal:
		p := loc.Path
		if !filepath.IsAbs(p) && r.o.baseDir != "" {
			p = filepath.Join(r.o.baseDir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("policy location %q: %w", location, err)
		}
		return &Resolved{Location: location, Path: p}, nil
	}
	return r.pull(ctx, location, loc.Ref)
}

func (r *Resolver) pull(ctx context.Context, location, ref string) (*Resolved, error) {
	var nopts []name.Option
	if r.o.insecure {
		nopts = append(nopts, name.Insecure)
	}
	nref, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("policy location %q: %w", location, err)
	}
	ropts := append([]remote.Option{remote.WithContext(ctx)}, r.o.remote...)
	desc, err := remote.Get(nref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("policy location %q: %w", location, err)
	}
	digest := desc.Digest.String()
	dir := filepath.Join(r.o.cacheDir, strings.ReplaceAll(digest, ":", "-"))
	if cached(dir) {
		return &Resolved{Location: location, Path: filepath.Join(dir, "content"), Digest: digest}, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("policy location %q: not an image manifest: %w", location, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("policy location %q: %w", location, err)
	}
	tmp, err := r.tempEntry()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	content := filepath.Join(tmp, "content")
	budget := int64(MaxArtifactSize)
	for i, l := range m.Layers {
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, fmt.Errorf("policy location %q: layer %d: %w", location, i, err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, fmt.Errorf("policy location %q: layer %d: %w", location, i, err)
		}
		err = unpackLayer(rc, string(l.MediaType), l.Annotations[titleAnn], content, &budget)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("policy location %q: layer %d (%s): %w", location, i, l.Digest, err)
		}
	}
	if err := commit(tmp, dir, digest); err != nil {
		return nil, err
	}
	return &Resolved{Location: location, Path: filepath.Join(dir, "content"), Digest: digest}, nil
}

// cached reports whether dir is a complete cache entry.
func cached(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ".complete"))
	return err == nil
}

// commit marks the filled temporary directory tmp complete and moves it to
// dir, the cache entry.
func commit(tmp, dir, stamp string) error {
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(stamp), 0o644); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another run may have filled the cache first; use its copy.
		if !cached(dir) {
			return fmt.Errorf("policy cache: %w", err)
		}
	}
	return nil
}

// tempEntry makes a temporary directory in the cache to fill.
func (r *Resolver) tempEntry() (string, error) {
	if err := os.MkdirAll(r.o.cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("policy cache: %w", err)
	}
	tmp, err := os.MkdirTemp(r.o.cacheDir, ".pull-*")
	if err != nil {
		return "", fmt.Errorf("policy cache: %w", err)
	}
	return tmp, nil
}

// safeJoin joins a path from an artifact under root, refusing absolute
// paths and "..".
func safeJoin(root, p string) (string, error) {
	clean := path.Clean("/" + filepath.ToSlash(p))
	if clean == "/" || strings.Contains(p, "\x00") {
		return "", fmt.Errorf("bad file name %q", p)
	}
	if strings.HasPrefix(p, "/") || strings.Contains("/"+filepath.ToSlash(p)+"/", "/../") {
		return "", fmt.Errorf("file name %q leaves the artifact", p)
	}
	return filepath.Join(root, filepath.FromSlash(clean)), nil
}

func writeFile(root, name string, r io.Reader, budget *int64) error {
	dst, err := safeJoin(root, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, *budget+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	*budget -= n
	if *budget < 0 {
		return fmt.Errorf("artifact unpacks to more than %d bytes", MaxArtifactSize)
	}
	return nil
}

func unpackLayer(rc io.Reader, mediaType, title, root string, budget *int64) error {
	switch {
	case mediaType == regoLayer || mediaType == dataLayer:
		if title == "" {
			return errors.New("policy layer has no " + titleAnn + " annotation")
		}
		return writeFile(root, title, rc, budget)
	case strings.Contains(mediaType, "tar"):
		var r io.Reader = rc
		if strings.HasSuffix(mediaType, "gzip") || strings.HasSuffix(mediaType, "+gzip") {
			gz, err := gzip.NewReader(rc)
			if err != nil {
				return err
			}
			defer gz.Close()
			r = gz
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if h.Typeflag != tar.TypeReg {
				continue // directories are made as needed; links are refused by omission
			}
			if err := writeFile(root, h.Name, tr, budget); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unsupported layer media type %q (want conftest policy/data layers or a tar layer)", mediaType)
}
