// Package verify is the engine of verify-policy: for each image it resolves
// the digest, verifies cosign signatures and attestations beside it,
// checks SLSA provenance against its schema, builds Conforma's input
// document and evaluates the policy, compiled once for the whole run.
// Images are checked concurrently; each worker keeps only the verdict, so
// memory grows with results, not with the attestations read.
package verify

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/verify/ecbuiltins"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
	"github.com/trustline-dev/trustline/internal/verify/evaluator"
	"github.com/trustline-dev/trustline/internal/verify/httpcache"
	"github.com/trustline-dev/trustline/internal/verify/report"
	"github.com/trustline-dev/trustline/internal/verify/slsa"
	"github.com/trustline-dev/trustline/internal/verify/snapshot"
	"github.com/trustline-dev/trustline/internal/verify/source"
	"github.com/trustline-dev/trustline/policy"
)

// Image is one image to verify.
type Image struct {
	Name   string
	Ref    string
	Source *snapshot.Source
}

// ImagesFromSnapshot lists a snapshot's components.
func ImagesFromSnapshot(s *snapshot.Snapshot) []Image {
	var out []Image
	for _, c := range s.Components {
		src := c.Source
		out = append(out, Image{Name: c.Name, Ref: c.ContainerImage, Source: &src})
	}
	return out
}

// Effective time modes.
const (
	EffectiveNow         = "now"
	EffectiveAttestation = "attestation"
)

type options struct {
	workers       int
	progress      io.Writer
	remote        []remote.Option
	insecure      bool
	effective     string
	cacheDir      string
	baseDir       string
	policyURI     string
	vsaSigner     *signing.Signer
	vsaDir        string
	pushVSA       bool
	showSuccesses bool
	ruleData      map[string]any
	exclude       []string
	transport     http.RoundTripper
	now           func() time.Time
	timeout       time.Duration
	maxMemory     *uint64
	maxInput      int64
	snapshot      *snapshot.Snapshot
}

// Option configures New.
type Option func(*options)

// WithWorkers checks n images at a time (default 4).
func WithWorkers(n int) Option { return func(o *options) { o.workers = n } }

// WithProgress receives one line per image checked (default: discard).
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithRemoteOptions adds go-containerregistry options (auth, transport).
func WithRemoteOptions(r ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, r...) }
}

// WithTransport is the HTTP transport under the digest cache (default
// http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithInsecure allows plain HTTP to any registry (loopback always may).
func WithInsecure(b bool) Option { return func(o *options) { o.insecure = b } }

// WithEffectiveTime is "now" (default), "attestation" (the build's finish
// time from provenance) or an RFC 3339 / YYYY-MM-DD date.
func WithEffectiveTime(s string) Option { return func(o *options) { o.effective = s } }

// WithCacheDir is where remote policy sources are cached: OCI and https by
// digest, git by commit.
func WithCacheDir(d string) Option { return func(o *options) { o.cacheDir = d } }

// WithBaseDir resolves relative local policy locations (default: the
// working directory); main passes the policy file's directory.
func WithBaseDir(d string) Option { return func(o *options) { o.baseDir = d } }

// WithPolicyURI names the policy in reports and the VSA.
func WithPolicyURI(u string) Option { return func(o *options) { o.policyURI = u } }

// WithVSA signs a SLSA verification summary for every image that passes,
// writes it into dir (if not empty) and, with push, appends it to the
// image's .att.
func WithVSA(s *signing.Signer, dir string, push bool) Option {
	return func(o *options) { o.vsaSigner, o.vsaDir, o.pushVSA = s, dir, push }
}

// WithRuleData merges rule data into every source's ruleData (its keys
// win), for example the trusted_tasks that `trustline catalog
// trusted-tasks` writes. Default: none.
func WithRuleData(rd map[string]any) Option { return func(o *options) { o.ruleData = rd } }

// WithExclude adds entries (package, package.rule, @collection, with an
// optional :term) to every source's config.exclude, on top of the
// policy's own. The build pipeline's in-pipeline gate uses it to leave
// out the rules that need the finished PipelineRun's provenance.
func WithExclude(entries ...string) Option {
	return func(o *options) { o.exclude = append(o.exclude, entries...) }
}

// WithSuccesses lists passed rules in the report (default: only counts).
func WithSuccesses(b bool) Option { return func(o *options) { o.showSuccesses = b } }

// DefaultTimeout bounds the check of one image: reading it, its
// signatures and attestations, and evaluating the policy.
const DefaultTimeout = 60 * time.Second

// WithTimeout bounds the check of each image (default DefaultTimeout; 0
// means no limit). An image that takes longer is an error, not a verdict.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxMemory stops a policy evaluation once the heap exceeds n bytes
// (default evaluator.DefaultMaxMemory; 0 turns the check off).
func WithMaxMemory(n uint64) Option { return func(o *options) { o.maxMemory = &n } }

// DefaultMaxInput bounds the verified statements of one image that become
// the policy input.
const DefaultMaxInput int64 = 256 << 20

// WithMaxInput bounds, in bytes, the verified statements of one image
// that make up the policy input (default DefaultMaxInput; 0 means no
// limit). An image over it is an error.
func WithMaxInput(n int64) Option { return func(o *options) { o.maxInput = n } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// ErrBadInput marks errors in what the user gave (policy, key, images).
var ErrBadInput = errors.New("bad input")

// Verifier holds a compiled policy and the key; it checks any number of
// images.
type Verifier struct {
	o       options
	pol     *ecp.Policy
	engines []*evaluator.Engine
	key     *signing.Verifier
	schemas *slsa.Validator
	client  *cosignoci.Client
	cache   *httpcache.Transport
	rep     report.Policy
	fixed   *time.Time
	cleanup func()
	ropts   []remote.Option
	// builtins are Conforma's ec.* Rego functions, reading registries
	// with the run's options.
	builtins *ecbuiltins.Set
	// policySpec is input.policy_spec; snapshot is input.snapshot (set
	// by Verify, for its images).
	policySpec any
	snapshot   any
}

// New resolves and compiles the policy (nil means the default pack) once.
func New(ctx context.Context, pol *ecp.Policy, key *signing.Verifier, opts ...Option) (*Verifier, error) {
	o := options{workers: 4, progress: io.Discard, effective: EffectiveNow, now: time.Now, timeout: DefaultTimeout, maxInput: DefaultMaxInput}
	for _, opt := range opts {
		opt(&o)
	}
	if o.workers < 1 {
		o.workers = 1
	}
	if key == nil {
		return nil, fmt.Errorf("%w: a public key is required to verify signatures", ErrBadInput)
	}
	v := &Verifier{o: o, key: key, cleanup: func() {}}
	switch o.effective {
	case EffectiveNow, EffectiveAttestation, "":
	default:
		t, err := ecp.ParseTime(o.effective)
		if err != nil {
			return nil, fmt.Errorf("%w: --effective-time: %v (want now, attestation or a date)", ErrBadInput, err)
		}
		v.fixed = &t
	}
	if err := v.connect(ctx); err != nil {
		return nil, err
	}
	pubPEM, err := publicKeyPEM(key)
	if err != nil {
		return nil, err
	}
	schemas, err := slsa.New()
	if err != nil {
		return nil, err
	}
	v.schemas = schemas
	if pol == nil {
		if pol, err = v.defaultPolicy(); err != nil {
			return nil, err
		}
	}
	v.pol = withExclusions(withRuleData(pol, o.ruleData), o.exclude)
	v.policySpec = toAny(v.pol)
	if err := v.compile(ctx, pubPEM); err != nil {
		v.cleanup()
		return nil, err
	}
	return v, nil
}

// connect sets up the run's registry access: one cache and one puller
// shared by the signature client and the ec.* built-ins.
func (v *Verifier) connect(ctx context.Context) error {
	// Keep a connection per worker alive: http.DefaultTransport keeps two
	// per host, so concurrent workers would open and close connections
	// (and TLS sessions) on every request.
	dt := http.DefaultTransport.(*http.Transport).Clone()
	dt.MaxIdleConnsPerHost = 4 * v.o.workers
	if dt.MaxIdleConnsPerHost < 16 {
		dt.MaxIdleConnsPerHost = 16
	}
	var tr http.RoundTripper = dt
	if v.o.transport != nil {
		tr = v.o.transport
	}
	v.cache = httpcache.New(httpcache.WithTransport(tr))
	ropts := append(remoteopt.Options(ctx, remote.WithTransport(v.cache)), v.o.remote...)
	// One puller for the run: it keeps an authenticated transport per
	// repository, so the image, its .sig and its .att share one registry
	// handshake instead of one each.
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return err
	}
	v.ropts = append(ropts, remote.Reuse(puller))
	v.client = cosignoci.New(cosignoci.WithRemoteOptions(v.ropts...))
	v.builtins = ecbuiltins.New(ecbuiltins.WithRemoteOptions(v.ropts...), ecbuiltins.WithInsecure(v.o.insecure))
	return nil
}

// defaultPolicy extracts the default pack to a temporary directory (Close
// removes it) and returns the policy that uses it.
func (v *Verifier) defaultPolicy() (*ecp.Policy, error) {
	dir, err := os.MkdirTemp("", "trustline-policy-*")
	if err != nil {
		return nil, err
	}
	v.cleanup = func() { os.RemoveAll(dir) }
	pdir, ddir, err := policy.Extract(dir)
	if err != nil {
		v.cleanup()
		return nil, err
	}
	if v.o.policyURI == "" {
		v.o.policyURI = "https://github.com/trustline-dev/trustline/tree/main/policy"
	}
	return &ecp.Policy{Name: "trustline default policy", Sources: []ecp.Source{{Name: "default", Policy: []string{pdir}, Data: []string{ddir}}}}, nil
}

// withRuleData is pol with rd merged over every source's ruleData.
func withRuleData(pol *ecp.Policy, rd map[string]any) *ecp.Policy {
	if len(rd) == 0 {
		return pol
	}
	return withSources(pol, func(s *ecp.Source) {
		merged := map[string]any{}
		for k, val := range s.RuleData {
			merged[k] = val
		}
		for k, val := range rd {
			merged[k] = val
		}
		s.RuleData = merged
	})
}

// withExclusions is pol with exclude added to every source's
// configuration.
func withExclusions(pol *ecp.Policy, exclude []string) *ecp.Policy {
	if len(exclude) == 0 {
		return pol
	}
	return withSources(pol, func(s *ecp.Source) {
		// A source without its own config follows the policy-wide
		// configuration; keep that when adding the exclusions.
		base := s.Config
		if base == nil {
			base = pol.Configuration
		}
		c := ecp.Config{}
		if base != nil {
			c = *base
		}
		c.Exclude = append(append([]string(nil), c.Exclude...), exclude...)
		s.Config = &c
	})
}

// withSources is a copy of pol with each source changed by edit; pol,
// which the caller owns, is left as it is.
func withSources(pol *ecp.Policy, edit func(*ecp.Source)) *ecp.Policy {
	cp := *pol
	cp.Sources = append([]ecp.Source(nil), pol.Sources...)
	for i := range cp.Sources {
		edit(&cp.Sources[i])
	}
	return &cp
}

// compile resolves the policy and data of every source of v.pol, compiles
// an engine for each, and records in the report what was used.
func (v *Verifier) compile(ctx context.Context, pubPEM string) error {
	res := source.New(source.WithCacheDir(v.o.cacheDir), source.WithBaseDir(v.o.baseDir), source.WithInsecure(v.o.insecure),
		source.WithRemoteOptions(v.ropts...))
	h := sha256.New()
	spec, _ := json.Marshal(v.pol)
	h.Write(spec)
	v.rep = report.Policy{Name: v.pol.Name, URI: v.o.policyURI}
	for i, s := range v.pol.Sources {
		pp, digests, err := resolveAll(ctx, res, s.Policy, h, nil)
		if err != nil {
			return fmt.Errorf("%w: sources[%d].policy: %w", ErrBadInput, i, err)
		}
		dp, digests, err := resolveAll(ctx, res, s.Data, h, digests)
		if err != nil {
			return fmt.Errorf("%w: sources[%d].data: %w", ErrBadInput, i, err)
		}
		e, err := evaluator.New(ctx, pp, v.engineOptions(s, dp, pubPEM)...)
		if err != nil {
			return fmt.Errorf("%w: sources[%d] (%s): %w", ErrBadInput, i, s.Name, err)
		}
		v.engines = append(v.engines, e)
		src := report.Source{Name: s.Name, Policy: s.Policy, Data: s.Data, Digests: digests, RuleData: s.RuleData != nil}
		if c := s.Config; c != nil {
			src.Include, src.Exclude = c.Include, c.Exclude
		}
		v.rep.Sources = append(v.rep.Sources, src)
	}
	v.rep.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return nil
}

// resolveAll resolves locations in order and returns their paths, and
// digests with theirs appended (each fed into h too, for the policy's
// digest).
func resolveAll(ctx context.Context, res *source.Resolver, locations []string, h io.Writer, digests []string) ([]string, []string, error) {
	var paths []string
	for _, l := range locations {
		r, err := res.Resolve(ctx, l)
		if err != nil {
			return nil, nil, err
		}
		paths = append(paths, r.Path)
		digests = append(digests, digestOf(r, h))
	}
	return paths, digests, nil
}

// engineOptions are the evaluator options of source s, whose data is at
// dataPaths.
func (v *Verifier) engineOptions(s ecp.Source, dataPaths []string, pubPEM string) []evaluator.Option {
	eopts := []evaluator.Option{evaluator.WithDataPaths(dataPaths...), evaluator.WithBuiltins(v.builtins)}
	if v.o.maxMemory != nil {
		eopts = append(eopts, evaluator.WithMaxMemory(*v.o.maxMemory))
	}
	if s.RuleData != nil {
		eopts = append(eopts, evaluator.WithRuleData(s.RuleData))
	}
	// data.config as Conforma writes it: the sigstore options its
	// policies verify with, and the effective time when it is fixed.
	config := map[string]any{"default_sigstore_opts": sigstoreOpts(pubPEM)}
	if v.fixed != nil {
		config["policy"] = map[string]any{"when_ns": v.fixed.UnixNano()}
	}
	return append(eopts, evaluator.WithData(map[string]any{"config": config}))
}

// digestOf returns the digest of a resolved location (the artifact's for
// OCI, a hash of the files for local paths) and feeds it into h.
func digestOf(r *source.Resolved, h io.Writer) string {
	d := r.Digest
	if d == "" {
		lh := sha256.New()
		var files []string
		filepath.WalkDir(r.Path, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			rel, _ := filepath.Rel(r.Path, f)
			fmt.Fprintf(lh, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
			lh.Write(b)
		}
		d = "sha256:" + hex.EncodeToString(lh.Sum(nil))
	}
	io.WriteString(h, d)
	return d
}

// Close removes temporary files.
func (v *Verifier) Close() { v.cleanup() }

// CacheStats returns registry cache hits and misses so far.
func (v *Verifier) CacheStats() (hits, misses int64) { return v.cache.Stats() }

// Verify checks every image and returns the report. An error is returned
// only when nothing could be checked; per-image errors are in the report
// (Component.Error, Report.Errors).
func (v *Verifier) Verify(ctx context.Context, images []Image) (*report.Report, error) {
	rep := &report.Report{Success: true, Policy: v.rep, ECVersion: Version, Components: make([]report.Component, len(images))}
	v.snapshot = snapshotInput(v.o.snapshot, images)
	rep.Key = v.key.KeyID()
	switch {
	case v.fixed != nil:
		rep.EffectiveTime = v.fixed.UTC().Format(time.RFC3339)
	case v.o.effective == EffectiveAttestation:
		rep.EffectiveTime = EffectiveAttestation
	default:
		rep.EffectiveTime = v.o.now().UTC().Format(time.RFC3339)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := 0; w < v.o.workers && w < len(images); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c := v.check(ctx, images[i])
				rep.Components[i] = c
				mu.Lock()
				done++
				status := "pass"
				if c.Error != "" {
					status = "error: " + c.Error
				} else if !c.Success {
					status = fmt.Sprintf("fail (%d violation(s))", len(c.Violations))
				}
				fmt.Fprintf(v.o.progress, "[%d/%d] %s: %s\n", done, len(images), c.ContainerImage, status)
				mu.Unlock()
			}
		}()
	}
	for i := range images {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, c := range rep.Components {
		if c.Error != "" {
			rep.Errors++
		}
		if !c.Success {
			rep.Success = false
		}
	}
	rep.Sort()
	return rep, nil
}

// builtin makes a violation found in Go, before Rego runs, with a code in
// Conforma's builtin namespace.
func builtin(code, title, msg, solution string) report.Result {
	return report.Result{Msg: msg, Metadata: report.Metadata{Code: code, Title: title, Solution: solution}}
}

func isNotFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return true
			}
		}
	}
	return errors.Is(err, cosignoci.ErrImageNotFound)
}

func convert(rs []evaluator.Result) []report.Result {
	out := make([]report.Result, 0, len(rs))
	for _, r := range rs {
		out = append(out, report.Result{Msg: r.Msg, Metadata: report.Metadata{
			Code: r.Code, Title: r.Title, Description: r.Description, Solution: r.Solution,
			Collections: r.Collections, EffectiveOn: r.EffectiveOn, Term: r.Term, DependsOn: r.DependsOn, Extra: r.Extra,
		}})
	}
	return out
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\n"); i > 0 {
		s = s[:i]
	}
	return s
}

// publicKeyPEM is the verifier's key as PEM, for the sigstore options
// policies pass to ec.sigstore.verify_*.
func publicKeyPEM(key *signing.Verifier) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(key.PublicKey())
	if err != nil {
		return "", fmt.Errorf("public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
