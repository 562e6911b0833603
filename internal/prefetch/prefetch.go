// Package prefetch downloads the dependencies a build declares in its
// lockfiles before the build, checks each against the checksum its
// lockfile pins, and lays them out so that the build's package managers
// use them with no network: Go modules as a GOMODCACHE, npm tarballs in
// npm's content-addressed cache, pip wheels and sdists for --find-links,
// and generic files by name. It writes the environment that points the
// package managers there (prefetch.env) and a CycloneDX SBOM of what it
// fetched. The input is Hermeto's (formerly Cachi2): [{"type":"gomod",
// "path":"."}, …].
//
// Anything a lockfile does not pin by a checksum is an error naming the
// package; nothing is left in the output directory unless everything was
// fetched and checked.
package prefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults.
const (
	// DefaultGoProxy is the module proxy used when none is given.
	DefaultGoProxy = "https://proxy.golang.org"
	// DefaultNPMRegistry is where packages a lockfile gives no resolved
	// URL for come from.
	DefaultNPMRegistry = "https://registry.npmjs.org"
	// DefaultPipIndex is the simple index (PEP 503) used when none is
	// given.
	DefaultPipIndex = "https://pypi.org/simple"
	// DefaultMountPath is where the build mounts the output directory;
	// prefetch.env names paths under it.
	DefaultMountPath = "/prefetch"
)

// Files the step writes at the top of the output directory.
const (
	EnvFile  = "prefetch.env"
	SBOMFile = "sbom.cdx.json"
)

type options struct {
	goProxy     string
	pipIndex    string
	npmRegistry string
	cacheDir    string
	client      *http.Client
	progress    io.Writer
	parallelism int
	mountPath   string
	now         func() time.Time
}

// Option configures Prefetch.
type Option func(*options) error

// WithGoProxy sets the Go module proxy (GOPROXY protocol). A GOPROXY list
// is accepted; its first proxy URL is used ("direct" and "off" fetch
// nothing). Default: DefaultGoProxy.
func WithGoProxy(list string) Option {
	return func(o *options) error {
		if list == "" {
			return nil
		}
		for _, p := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '|' }) {
			if p == "direct" || p == "off" {
				continue
			}
			if !strings.HasPrefix(p, "https://") && !strings.HasPrefix(p, "http://") {
				return fmt.Errorf("GOPROXY entry %q: want an http(s) URL", p)
			}
			o.goProxy = strings.TrimSuffix(p, "/")
			return nil
		}
		return fmt.Errorf("GOPROXY %q names no proxy URL: prefetch fetches through the module proxy protocol only", list)
	}
}

// WithNPMRegistry sets the registry of the npm packages whose lockfile
// entry has an integrity but no resolved URL (npm's
// omit-lockfile-registry-resolved). Default: DefaultNPMRegistry.
func WithNPMRegistry(url string) Option {
	return func(o *options) error {
		if url != "" {
			o.npmRegistry = strings.TrimSuffix(url, "/")
		}
		return nil
	}
}

// WithPipIndex sets the PEP 503 simple index pip packages come from.
// Default: DefaultPipIndex.
func WithPipIndex(url string) Option {
	return func(o *options) error {
		if url != "" {
			o.pipIndex = strings.TrimSuffix(url, "/")
		}
		return nil
	}
}

// WithCacheDir keeps every verified file in dir, keyed by the checksum
// that pins it, so a later run fetches only what changed. Default: no
// cache.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithHTTPClient sets the client used for every download. Default: a
// client with a 10-minute overall timeout per request.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c != nil {
			o.client = c
		}
		return nil
	}
}

// WithProgress sends one line per package type and a summary to w.
// Default: discarded.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w != nil {
			o.progress = w
		}
		return nil
	}
}

// WithParallelism sets how many files are fetched at once. Default: 8.
func WithParallelism(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("parallelism %d: want at least 1", n)
		}
		o.parallelism = n
		return nil
	}
}

// WithMountPath sets the path at which the build will see the output
// directory; prefetch.env names paths under it. Default:
// DefaultMountPath.
func WithMountPath(p string) Option {
	return func(o *options) error {
		if !filepath.IsAbs(p) || strings.ContainsAny(p, " \t\n'\"$`\\") {
			return fmt.Errorf("mount path %q: want an absolute path without spaces or quotes", p)
		}
		o.mountPath = filepath.Clean(p)
		return nil
	}
}

// WithClock sets the time the SBOM records. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// Result is what Prefetch fetched.
type Result struct {
	// Components is how many dependencies the SBOM lists.
	Components int `json:"components"`
	// Files is how many files were put in place; Cached of them came from
	// the cache.
	Files  int `json:"files"`
	Cached int `json:"cached"`
	// SBOM is the path of the CycloneDX SBOM and SBOMDigest its
	// "sha256:<hex>".
	SBOM       string `json:"sbom"`
	SBOMDigest string `json:"sbomDigest"`
	// SBOMSerial is its serialNumber, "urn:uuid:…", derived from the
	// dependencies (the same dependencies give the same serial number).
	SBOMSerial string `json:"sbomSerial"`
	// Env is what prefetch.env sets, "KEY=VALUE".
	Env []string `json:"env"`
}

// Prefetch fetches the dependencies of pkgs, whose lockfiles are in
// srcDir, into outDir (absent or empty).
func Prefetch(ctx context.Context, srcDir, outDir string, pkgs []Package, opts ...Option) (*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if pkgs, err = normalizePackages(pkgs); err != nil {
		return nil, err
	}
	if err := checkDirs(srcDir, outDir); err != nil {
		return nil, err
	}
	// Everything is staged inside the output directory and moved up only
	// when all of it was fetched and checked (the output may be a
	// workspace's mount point, which cannot itself be renamed).
	stage, err := os.MkdirTemp(outDir, ".partial-")
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	defer os.RemoveAll(stage)

	f := &fetcher{client: o.client, cacheDir: o.cacheDir, progress: o.progress}
	pl, err := planPackages(ctx, f, o, srcDir, stage, pkgs)
	if err != nil {
		return nil, err
	}
	cached, err := fetchAll(ctx, f, pl.downloads, o.parallelism)
	if err != nil {
		return nil, err
	}
	for _, finish := range pl.finishers {
		if err := finish(); err != nil {
			return nil, err
		}
	}
	env := Env(o.mountPath, pl.types)
	serial, digest, err := writeEnvAndSBOM(stage, env, pl.comps, o.now)
	if err != nil {
		return nil, err
	}
	if err := moveStaged(stage, outDir); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.progress, "prefetch: %d dependencies, %d files (%d from the cache) in %s\n", len(pl.comps), len(pl.downloads), cached, outDir)
	return &Result{
		Components: len(pl.comps),
		Files:      len(pl.downloads),
		Cached:     cached,
		SBOM:       filepath.Join(outDir, SBOMFile),
		SBOMDigest: digest,
		SBOMSerial: serial,
		Env:        env,
	}, nil
}

// newOptions applies opts over the defaults.
func newOptions(opts []Option) (*options, error) {
	o := &options{
		goProxy:     DefaultGoProxy,
		pipIndex:    DefaultPipIndex,
		npmRegistry: DefaultNPMRegistry,
		client:      &http.Client{Timeout: 10 * time.Minute},
		progress:    io.Discard,
		parallelism: 8,
		mountPath:   DefaultMountPath,
		now:         time.Now,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// normalizePackages checks and normalizes a copy of pkgs, so the caller's
// slice is left as it was.
func normalizePackages(pkgs []Package) ([]Package, error) {
	if len(pkgs) == 0 {
		return nil, errors.New("no packages to prefetch")
	}
	pkgs = slices.Clone(pkgs)
	for i := range pkgs {
		if err := pkgs[i].normalize(); err != nil {
			return nil, fmt.Errorf("package %d: %w", i, err)
		}
	}
	return pkgs, nil
}

// checkDirs makes sure srcDir is a directory and outDir an empty one,
// creating it when it is absent.
func checkDirs(srcDir, outDir string) error {
	if fi, err := os.Stat(srcDir); err != nil {
		return fmt.Errorf("source directory: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("source directory %s is not a directory", srcDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	if ents, err := os.ReadDir(outDir); err != nil {
		return fmt.Errorf("output directory: %w", err)
	} else if len(ents) > 0 {
		return fmt.Errorf("output directory %s is not empty", outDir)
	}
	return nil
}

// fetchPlan is what the lockfiles of all the packages ask for.
type fetchPlan struct {
	downloads []download
	comps     []*component
	types     map[string]bool // the package types, for Env
	// finishers run once everything is fetched (npm's fills the
	// lockfile's resolved URLs in).
	finishers []func() error
}

// planPackages reads each package's lockfile, in order, and lists what
// to fetch, saying on progress how much each one needs.
func planPackages(ctx context.Context, f *fetcher, o *options, srcDir, stage string, pkgs []Package) (*fetchPlan, error) {
	pl := &fetchPlan{types: map[string]bool{}}
	for _, p := range pkgs {
		d, c, finish, err := planPackage(ctx, f, o, srcDir, stage, p)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(o.progress, "prefetch: %s in %s: %d files to fetch\n", p.Type, p.Path, len(d))
		pl.types[p.Type] = true
		if finish != nil {
			pl.finishers = append(pl.finishers, finish)
		}
		pl.downloads = append(pl.downloads, d...)
		pl.comps = append(pl.comps, c...)
	}
	// Two lockfiles may pin the same file: fetch it once.
	pl.downloads = dedupe(pl.downloads)
	return pl, nil
}

// planPackage lists what one package's lockfile asks for, by its type.
func planPackage(ctx context.Context, f *fetcher, o *options, srcDir, stage string, p Package) ([]download, []*component, func() error, error) {
	switch p.Type {
	case TypeGomod:
		d, c, err := planGomod(srcDir, p.Path, stage, o.goProxy)
		return d, c, nil, err
	case TypeNPM:
		return planNPM(srcDir, p.Path, stage, o.npmRegistry)
	case TypePip:
		d, c, err := planPip(ctx, f, srcDir, p, stage, o.pipIndex)
		return d, c, nil, err
	case TypeGeneric:
		d, c, err := planGeneric(srcDir, p, stage)
		return d, c, nil, err
	}
	return nil, nil, nil, nil
}

// writeEnvAndSBOM writes prefetch.env and the SBOM into the staging
// directory and returns the SBOM's serial number and digest. The clock is
// read once prefetch.env is written, as late as it can be.
func writeEnvAndSBOM(stage string, env []string, comps []*component, now func() time.Time) (serial, digest string, err error) {
	if err := writeEnv(filepath.Join(stage, EnvFile), env); err != nil {
		return "", "", err
	}
	sbomData, serial, digest, err := encodeSBOM(comps, now())
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(stage, SBOMFile), sbomData, 0o644); err != nil {
		return "", "", err
	}
	return serial, digest, nil
}

// moveStaged moves everything in the staging directory up into outDir.
func moveStaged(stage, outDir string) error {
	ents, err := os.ReadDir(stage)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(stage, e.Name()), filepath.Join(outDir, e.Name())); err != nil {
			return fmt.Errorf("output directory: %w", err)
		}
	}
	return nil
}

func dedupe(ds []download) []download {
	seen := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		if seen[d.dest] {
			continue
		}
		seen[d.dest] = true
		out = append(out, d)
	}
	return out
}

// fetchAll runs the downloads n at a time and stops at the first error.
// The error reported is the first, by the order of the downloads, of those
// that failed before anything was cancelled: the downloads cut short by
// the cancel fail too, and not always with an error that says so (an HTTP
// request cancelled mid-way), so when each error came is what tells the
// cause from its consequences.
func fetchAll(parent context.Context, f *fetcher, ds []download, n int) (int, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	errs := make([]error, len(ds))
	afterCancel := make([]bool, len(ds))
	var cached atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < n && w < len(ds); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ds) || ctx.Err() != nil {
					return
				}
				d := ds[i]
				sha, hit, err := f.fetch(ctx, d)
				if err == nil && d.after != nil {
					err = d.after()
				}
				if err != nil {
					errs[i], afterCancel[i] = err, ctx.Err() != nil
					cancel()
					return
				}
				if hit {
					cached.Add(1)
				}
				if d.comp != nil {
					d.comp.sha256 = sha
				}
			}
		}()
	}
	wg.Wait()
	var consequence error
	for i, err := range errs {
		switch {
		case err == nil:
		case !afterCancel[i] && !errors.Is(err, context.Canceled):
			return 0, err
		case consequence == nil:
			consequence = err
		}
	}
	if consequence != nil {
		return 0, consequence
	}
	if err := parent.Err(); err != nil {
		return 0, err
	}
	return int(cached.Load()), nil
}

// Env is what the build's package managers need to use the output
// directory mounted at mount with no network, for the package types
// fetched.
func Env(mount string, types map[string]bool) []string {
	var env []string
	if types[TypeGomod] {
		env = append(env,
			"GOMODCACHE="+mount+"/"+GomodCacheDir,
			"GOPROXY=off",
			"GOFLAGS=-mod=mod",
			// go.sum pins every module and is still checked; the checksum
			// database would be asked only about modules it does not pin,
			// and cannot be reached.
			"GOSUMDB=off",
			"GOTOOLCHAIN=local",
		)
	}
	if types[TypeNPM] {
		env = append(env,
			"npm_config_cache="+mount+"/"+NPMCacheDir,
			"npm_config_offline=true",
			"npm_config_audit=false",
			"npm_config_fund=false",
			"npm_config_update_notifier=false",
		)
	}
	if types[TypePip] {
		env = append(env,
			"PIP_NO_INDEX=true",
			"PIP_FIND_LINKS="+mount+"/"+PipDir,
			"PIP_REQUIRE_HASHES=1",
		)
	}
	if types[TypeGeneric] {
		env = append(env, "PREFETCH_GENERIC_DIR="+mount+"/"+GenericDir)
	}
	sort.Strings(env)
	return env
}

// writeEnv writes KEY=VALUE lines a shell can source (values hold no
// spaces or quotes).
func writeEnv(p string, env []string) error {
	var b strings.Builder
	b.WriteString("# Written by trustline prefetch: the build's package managers read their\n# dependencies from here, with no network.\n")
	for _, kv := range env {
		b.WriteString("export " + kv + "\n")
	}
	return os.WriteFile(p, []byte(b.String()), 0o644)
}
