// Package admission is the deploy gate: a Kubernetes validating (and
// mutating) admission webhook that lets a Pod, or the pod template of a
// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob, in only
// if every container, init container and ephemeral container image passes
// the same verification and policy as the verify-policy step.
//
// Each image is resolved to a digest through the registry (one HEAD for a
// tag, none for a digest reference), and the verdict for that digest is
// cached (size bound, TTL), so a tag moved to another digest is checked
// again and what was checked is what the mutating endpoint pins. Registry
// errors deny unless the server fails open. The policy, keys and rule
// data are files (a mounted ConfigMap or Secret), re-read when their
// contents change.
package admission

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/report"
)

// Checker verifies images named by digest; *verify.Verifier is one.
type Checker interface {
	Verify(ctx context.Context, images []verify.Image) (*report.Report, error)
}

// Loader builds a Checker from the current policy files; release frees
// it once no review uses it any more.
type Loader func(ctx context.Context) (c Checker, release func(), err error)

// Verdict is the answer for one image digest.
type Verdict struct {
	Allowed bool
	// Digest is the image by digest (repo@sha256:...).
	Digest string
	// Reasons are the failed rules, "code: message".
	Reasons []string
	// Err is why no verdict could be reached (registry, timeout).
	Err string
}

type options struct {
	failOpen  bool
	cacheSize int
	cacheTTL  time.Duration
	remote    []remote.Option
	insecure  remoteopt.Insecure
	log       io.Writer
	watch     []string
	interval  time.Duration
	now       func() time.Time
	timeout   time.Duration
}

// Option configures New.
type Option func(*options)

// WithFailOpen allows an image whose check could not finish (registry
// unreachable, timeout) instead of denying it (default: deny, fail
// closed). Policy violations are denied either way.
func WithFailOpen(b bool) Option { return func(o *options) { o.failOpen = b } }

// WithCache keeps up to size verdicts by digest for ttl each (default
// 4096 for 10 minutes; size 0 turns the cache off).
func WithCache(size int, ttl time.Duration) Option {
	return func(o *options) { o.cacheSize, o.cacheTTL = size, ttl }
}

// WithRemoteOptions adds go-containerregistry options to tag resolution
// (after remoteopt.Options: keychain, retries).
func WithRemoteOptions(r ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, r...) }
}

// WithInsecure allows plain HTTP to any registry when resolving tags
// (loopback registries always may).
func WithInsecure(b bool) Option { return func(o *options) { o.insecure = remoteopt.Insecure(b) } }

// WithLog receives one line per decision and per policy reload (default:
// discard).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithReload re-reads the policy (calls the Loader again) when the
// contents of any of files change, checking every interval (default: no
// reload). Mounted ConfigMaps and Secrets change by a symlink swap, so
// contents, not modification times, are compared.
func WithReload(interval time.Duration, files ...string) Option {
	return func(o *options) { o.interval, o.watch = interval, files }
}

// WithTimeout bounds one review: resolving its images and checking those
// not cached (default 9 s, under the webhook configurations' 10 s
// timeoutSeconds, so the API server gets this server's answer rather than
// its own failurePolicy).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock replaces time.Now (tests of the TTL).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Server answers AdmissionReviews. Create it with New, serve Handler, run
// Watch for reloads, and Close it.
type Server struct {
	o      options
	load   Loader
	cache  *verdictCache
	puller *remote.Puller
	m      *metrics

	mu       sync.RWMutex
	checker  Checker
	release  func()
	users    *sync.WaitGroup
	sum      [32]byte
	ready    bool
	draining bool
}

// New loads the policy once (an error here is a configuration error) and
// returns the server.
func New(ctx context.Context, load Loader, opts ...Option) (*Server, error) {
	o := options{cacheSize: 4096, cacheTTL: 10 * time.Minute, log: io.Discard, now: time.Now, timeout: 9 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{o: o, load: load, cache: newVerdictCache(o.cacheSize, o.cacheTTL, o.now), m: newMetrics()}
	s.m.cacheEntries = s.cache.len
	puller, err := remote.NewPuller(remoteopt.Options(ctx, o.remote...)...)
	if err != nil {
		return nil, err
	}
	s.puller = puller
	sum, err := hashFiles(o.watch)
	if err != nil {
		return nil, err
	}
	c, release, err := load(ctx)
	if err != nil {
		return nil, err
	}
	s.checker, s.release, s.users, s.sum, s.ready = c, release, &sync.WaitGroup{}, sum, true
	s.m.reloads.WithLabelValues("ok").Inc()
	return s, nil
}

// hashFiles hashes the contents of files, in order.
func hashFiles(files []string) ([32]byte, error) {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return [32]byte{}, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// Watch reloads the policy when its files change, until ctx ends. Without
// WithReload it only waits for ctx.
func (s *Server) Watch(ctx context.Context) {
	if s.o.interval <= 0 || len(s.o.watch) == 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(s.o.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Reload(ctx); err != nil {
				fmt.Fprintf(s.o.log, "policy reload failed, keeping the previous policy: %v\n", err)
			}
		}
	}
}

// Reload loads the policy again if its files changed. On an error the
// previous policy stays in force.
func (s *Server) Reload(ctx context.Context) error {
	sum, err := hashFiles(s.o.watch)
	if err != nil {
		s.m.reloads.WithLabelValues("error").Inc()
		return err
	}
	s.mu.RLock()
	same := sum == s.sum
	s.mu.RUnlock()
	if same {
		return nil
	}
	c, release, err := s.load(ctx)
	if err != nil {
		s.m.reloads.WithLabelValues("error").Inc()
		return err
	}
	s.mu.Lock()
	oldRelease, oldUsers := s.release, s.users
	s.checker, s.release, s.users, s.sum = c, release, &sync.WaitGroup{}, sum
	s.cache.purge() // verdicts of the old policy no longer hold
	s.mu.Unlock()
	go func() { oldUsers.Wait(); oldRelease() }()
	s.m.reloads.WithLabelValues("ok").Inc()
	fmt.Fprintf(s.o.log, "policy reloaded (files changed); verdict cache cleared\n")
	return nil
}

// acquire returns the current checker; done must be called after use.
func (s *Server) acquire() (Checker, func()) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.users.Add(1)
	return s.checker, s.users.Done
}

// Drain makes /readyz fail, so the Service stops sending reviews while
// the HTTP server finishes those in flight.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Close releases the policy.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release != nil {
		s.users.Wait()
		s.release()
		s.release = nil
	}
	s.ready = false
}

// Handler serves /validate, /mutate, /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/validate", s.reviewHandler(false))
	mux.Handle("/mutate", s.reviewHandler(true))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.RLock()
		ok := s.ready && !s.draining
		s.mu.RUnlock()
		if !ok {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("/metrics", s.m.handler())
	return mux
}

func (s *Server) reviewHandler(mutate bool) http.Handler {
	endpoint := "validate"
	if mutate {
		endpoint = "mutate"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.Method != http.MethodPost {
			http.Error(w, "POST an admission.k8s.io/v1 AdmissionReview", http.StatusMethodNotAllowed)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
			http.Error(w, fmt.Sprintf("Content-Type %q: want application/json", ct), http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxReviewBytes+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ar, err := DecodeReview(body)
		if err != nil {
			s.m.reviews.WithLabelValues(endpoint, "", "bad_request").Inc()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := s.Review(r.Context(), ar.Request, mutate)
		out := admissionv1.AdmissionReview{TypeMeta: ar.TypeMeta, Response: resp}
		b, err := json.Marshal(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		result := "allowed"
		if !resp.Allowed {
			result = "denied"
		}
		s.m.reviews.WithLabelValues(endpoint, ar.Request.Kind.Kind, result).Inc()
		s.m.latency.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
	})
}

// Review answers one request: allowed only if every image passed. With
// mutate, an allowed answer carries a JSONPatch pinning each image to
// the digest that was verified.
func (s *Server) Review(ctx context.Context, req *admissionv1.AdmissionRequest, mutate bool) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID}
	deny := func(code int32, msg string) *admissionv1.AdmissionResponse {
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: code, Message: truncate(msg, 4000),
			Reason: metav1.StatusReasonForbidden}
		fmt.Fprintf(s.o.log, "deny %s %s/%s (%s): %s\n", req.Kind.Kind, req.Namespace, objName(req), req.UID, msg)
		return resp
	}
	images, err := Images(req)
	if err != nil {
		// A kind the webhook configuration should not have sent, or an
		// object that does not decode: never let it in unchecked.
		return deny(http.StatusBadRequest, err.Error())
	}
	if len(images) == 0 {
		resp.Allowed = true
		return resp
	}
	if s.o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.o.timeout)
		defer cancel()
	}
	verdicts := s.check(ctx, images)
	// One problem per distinct image, naming every container running it.
	var problems []string
	var patch []PatchOp
	var order []string
	where := map[string][]string{}
	failed := map[string]Verdict{}
	for i, im := range images {
		v := verdicts[i]
		switch {
		case v.Err != "" && s.o.failOpen:
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("trustline: image %q (container %q) was not verified, allowed by --fail-open: %s", im.Image, im.Container, v.Err))
			fmt.Fprintf(s.o.log, "fail-open %s %s/%s: image %q: %s\n", req.Kind.Kind, req.Namespace, objName(req), im.Image, v.Err)
		case v.Err != "" || !v.Allowed:
			if _, ok := where[im.Image]; !ok {
				order = append(order, im.Image)
				failed[im.Image] = v
			}
			where[im.Image] = append(where[im.Image], fmt.Sprintf("%q at %s", im.Container, im.Field))
		case mutate && v.Digest != im.Image:
			patch = append(patch, PatchOp{Op: "replace", Path: im.Field, Value: v.Digest})
		}
	}
	for _, ref := range order {
		v := failed[ref]
		if v.Err != "" {
			problems = append(problems, fmt.Sprintf("image %q (container %s) could not be verified: %s", ref, strings.Join(where[ref], ", container "), v.Err))
			continue
		}
		problems = append(problems, fmt.Sprintf("image %q (container %s) resolved to %s failed the policy: %s", ref, strings.Join(where[ref], ", container "), v.Digest, strings.Join(v.Reasons, "; ")))
	}
	if len(problems) > 0 {
		return deny(http.StatusForbidden, "trustline deploy gate: "+strings.Join(problems, " | "))
	}
	resp.Allowed = true
	if len(patch) > 0 {
		b, err := json.Marshal(patch)
		if err != nil {
			return deny(http.StatusInternalServerError, err.Error())
		}
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = b, &pt
	}
	return resp
}

func objName(req *admissionv1.AdmissionRequest) string {
	if req.Name != "" {
		return req.Name
	}
	return "(generated name)"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "… (truncated)"
}

// check returns a verdict per image: each distinct reference resolved
// once, each distinct digest verified once, cached digests not at all.
func (s *Server) check(ctx context.Context, images []ContainerImage) []Verdict {
	type res struct {
		d   name.Digest
		err error
	}
	resolved := map[string]*res{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, im := range images {
		if _, ok := resolved[im.Image]; ok {
			continue
		}
		r := &res{}
		resolved[im.Image] = r
		wg.Add(1)
		go func(ref string) {
			defer wg.Done()
			d, err := s.resolve(ctx, ref)
			mu.Lock()
			r.d, r.err = d, err
			mu.Unlock()
		}(im.Image)
	}
	wg.Wait()

	byDigest := map[string]Verdict{}
	var todo []verify.Image
	for _, r := range resolved {
		if r.err != nil {
			continue
		}
		key := r.d.String()
		if _, ok := byDigest[key]; ok {
			continue
		}
		if v, ok := s.cache.get(key); ok {
			s.m.cache.WithLabelValues("hit").Inc()
			byDigest[key] = v
			continue
		}
		s.m.cache.WithLabelValues("miss").Inc()
		byDigest[key] = Verdict{}
		todo = append(todo, verify.Image{Ref: key})
	}
	if len(todo) > 0 {
		sort.Slice(todo, func(i, j int) bool { return todo[i].Ref < todo[j].Ref })
		for k, v := range s.verify(ctx, todo) {
			byDigest[k] = v
		}
	}
	out := make([]Verdict, len(images))
	for i, im := range images {
		r := resolved[im.Image]
		if r.err != nil {
			s.m.registryErrors.Inc()
			out[i] = Verdict{Err: r.err.Error()}
			continue
		}
		out[i] = byDigest[r.d.String()]
	}
	return out
}

// resolve turns an image reference into its digest: a digest reference
// as is, a tag by asking the registry (HEAD of the manifest).
func (s *Server) resolve(ctx context.Context, ref string) (name.Digest, error) {
	r, err := remoteopt.ParseReference(ref, s.o.insecure)
	if err != nil {
		return name.Digest{}, err
	}
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	desc, err := s.puller.Head(ctx, r)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return name.Digest{}, fmt.Errorf("resolving the tag took longer than the %s review timeout: %w", s.o.timeout, err)
		}
		return name.Digest{}, fmt.Errorf("resolving the tag to a digest: %w", err)
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// verify checks digests not in the cache and caches the verdicts (not
// the errors).
func (s *Server) verify(ctx context.Context, images []verify.Image) map[string]Verdict {
	out := map[string]Verdict{}
	c, done := s.acquire()
	defer done()
	start := time.Now()
	rep, err := c.Verify(ctx, images)
	s.m.verifyLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		for _, im := range images {
			out[im.Ref] = Verdict{Digest: im.Ref, Err: err.Error()}
		}
		return out
	}
	for _, comp := range rep.Components {
		v := Verdict{Digest: comp.ContainerImage, Allowed: comp.Success && comp.Error == ""}
		switch {
		case comp.Error != "":
			v.Err = comp.Error
		case !v.Allowed:
			for _, r := range comp.Violations {
				v.Reasons = append(v.Reasons, r.Metadata.Code+": "+r.Msg)
			}
			if len(v.Reasons) == 0 {
				v.Reasons = []string{"the policy did not pass"}
			}
		}
		out[comp.ContainerImage] = v
		if v.Err == "" {
			s.cache.put(comp.ContainerImage, v)
		}
	}
	for _, im := range images {
		if _, ok := out[im.Ref]; !ok {
			out[im.Ref] = Verdict{Digest: im.Ref, Err: "no verdict for the image"}
		}
	}
	return out
}
