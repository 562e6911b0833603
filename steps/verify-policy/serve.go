package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/admission"
	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
	"github.com/trustline-dev/trustline/internal/verify/evaluator"
)

// serveCommand is `verify-policy serve`, the deploy gate: see
// internal/admission and docs/deploy-gate.md.
func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "run the deploy gate: an admission webhook admitting only images that pass the policy",
		UsageText: "verify-policy serve --tls-cert-file tls.crt --tls-key-file tls.key --public-key cosign.pub [--policy policy.yaml] [--rule-data rules.yaml] [--fail-open]",
		Description: `Serves, over HTTPS, admission.k8s.io/v1 AdmissionReviews for Pods and the pod
templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and
CronJobs:

  POST /validate   allow or deny (ValidatingWebhookConfiguration)
  POST /mutate     the same verdict, and on allow a JSONPatch pinning every
                   image to the digest that was verified
                   (MutatingWebhookConfiguration)
  GET  /healthz    liveness; GET /readyz readiness (fails while draining)
  GET  /metrics    Prometheus text format (trustline_gate_*)

Every container, init container and ephemeral container image is resolved to
a digest (a tag costs one HEAD to the registry) and checked as the
verify-policy step checks it: signature and attestations by --public-key,
SLSA provenance, and the policy's rules. A denial names the image, the
container, the digest and the failed rules. Verdicts are cached by digest
(--cache-size, --cache-ttl); errors are not cached. An image that cannot be
checked (registry unreachable, timeout) is denied unless --fail-open.

Which namespaces are gated is decided by the webhook configurations'
namespaceSelector (label trustline.dev/deploy-gate=enabled in deploy/): an
AdmissionRequest does not carry the namespace's labels, so the server checks
every review it is sent.

The key, policy, rule data and TLS files are re-read when their contents
change (checked every --reload-interval), as a mounted ConfigMap or Secret
changes; a policy that fails to load is logged and the previous one stays.
SIGTERM: /readyz fails, the server keeps answering for --drain-delay while the
Service's endpoints drop it, then stops accepting and lets reviews in flight
finish (up to --shutdown-grace), and exits 0.

Example:
   verify-policy serve --listen :8443 \
     --tls-cert-file /etc/trustline/tls/tls.crt --tls-key-file /etc/trustline/tls/tls.key \
     --public-key /etc/trustline/policy/cosign.pub --policy /etc/trustline/policy/policy.yaml \
     --rule-data /etc/trustline/policy/trusted_tasks.yaml --cache-size 4096 --cache-ttl 10m`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: ":8443", Usage: "serve HTTPS on `ADDR`"},
			&cli.StringFlag{Name: "tls-cert-file", Usage: "server certificate `FILE` (PEM, with its chain)", Required: true},
			&cli.StringFlag{Name: "tls-key-file", Usage: "server private key `FILE` (PEM)", Required: true},
			&cli.StringFlag{Name: "public-key", Usage: "cosign public key `FILE` (PEM) that signed the images and attestations", Required: true},
			&cli.StringFlag{Name: "policy", Usage: "EnterpriseContractPolicy spec `FILE` (YAML or JSON); default: the built-in pack"},
			&cli.StringFlag{Name: "rule-data", Usage: "merge this YAML/JSON object `FILE` into every source's ruleData (trusted_tasks)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "also exclude `RULE` in every policy source (repeatable or comma-separated)"},
			&cli.BoolFlag{Name: "fail-open", Usage: "allow (with a warning) an image that could not be checked because of a registry error or timeout; policy violations are denied either way"},
			&cli.IntFlag{Name: "cache-size", Value: 4096, Usage: "keep up to `N` verdicts by digest (0: no cache)"},
			&cli.DurationFlag{Name: "cache-ttl", Value: 10 * time.Minute, Usage: "keep a verdict for `DURATION` (a revoked key or a new policy takes effect at once: the cache is cleared on reload)"},
			&cli.DurationFlag{Name: "review-timeout", Value: 9 * time.Second, Usage: "answer a review within `DURATION` (keep it under the webhook configurations' timeoutSeconds)"},
			&cli.DurationFlag{Name: "reload-interval", Value: 10 * time.Second, Usage: "check the key, policy, rule data and TLS files for changes every `DURATION` (0: never)"},
			&cli.DurationFlag{Name: "drain-delay", Value: 5 * time.Second, Usage: "on SIGTERM, keep serving with /readyz failing for `DURATION` before closing the listener, while endpoints stop routing reviews here"},
			&cli.DurationFlag{Name: "shutdown-grace", Value: 20 * time.Second, Usage: "on SIGTERM, let reviews in flight finish for up to `DURATION`"},
			&cli.Int64Flag{Name: "max-input", Value: verify.DefaultMaxInput >> 20, Usage: "fail on an image whose verified attestations add up to more than `MIB` mebibytes"},
			&cli.Uint64Flag{Name: "max-memory", Value: evaluator.DefaultMaxMemory >> 20, Usage: "stop a policy evaluation once the heap exceeds `MIB` mebibytes"},
			&cli.IntFlag{Name: "workers", Value: 4, Usage: "check up to `N` images of one review concurrently"},
			&cli.StringFlag{Name: "cache-dir", Usage: "cache OCI policy sources by digest in `DIR` (default: a temporary directory)"},
			stepcli.TLSVerifyFlag(),
		},
		Action: serve,
	}
}

// gateConfig is what serve maps its flags to; newGate builds the server.
type gateConfig struct {
	publicKey, policy, ruleData, cacheDir string
	exclude                               []string
	insecure                              bool
	workers                               int
	maxInput                              int64
	maxMemory                             uint64
	admission                             []admission.Option
}

// loader returns the admission Loader that reads the key, policy and rule
// data files and compiles the policy: the same verify.New the step uses.
func (g gateConfig) loader() admission.Loader {
	return func(ctx context.Context) (admission.Checker, func(), error) {
		key, err := signing.LoadPublicKey(g.publicKey)
		if err != nil {
			return nil, nil, fmt.Errorf("--public-key: %w", err)
		}
		opts := []verify.Option{
			verify.WithWorkers(g.workers),
			verify.WithInsecure(g.insecure),
			verify.WithMaxInput(g.maxInput),
			verify.WithMaxMemory(g.maxMemory),
		}
		if g.cacheDir != "" {
			opts = append(opts, verify.WithCacheDir(g.cacheDir))
		}
		if len(g.exclude) > 0 {
			opts = append(opts, verify.WithExclude(g.exclude...))
		}
		var pol *ecp.Policy
		if g.policy != "" {
			p, po, err := policyFile(g.policy)
			if err != nil {
				return nil, nil, err
			}
			pol, opts = p, append(opts, po...)
		}
		if g.ruleData != "" {
			o, err := ruleDataOption(g.ruleData)
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, o)
		}
		v, err := verify.New(ctx, pol, key, opts...)
		if err != nil {
			return nil, nil, err
		}
		return v, v.Close, nil
	}
}

func (g gateConfig) files() []string {
	var fs []string
	for _, f := range []string{g.publicKey, g.policy, g.ruleData} {
		if f != "" {
			fs = append(fs, f)
		}
	}
	return fs
}

func serve(c *cli.Context) error {
	ctx := c.Context
	if c.Int64("max-input") < 0 || c.Int("cache-size") < 0 || c.Duration("cache-ttl") < 0 || c.Duration("review-timeout") < 0 {
		return stepcli.Usagef("--max-input, --cache-size, --cache-ttl and --review-timeout must not be negative")
	}
	g := gateConfig{
		publicKey: c.String("public-key"), policy: c.String("policy"), ruleData: c.String("rule-data"), cacheDir: c.String("cache-dir"),
		exclude: stepcli.ListValues(c, "exclude"), insecure: !c.Bool("tls-verify"), workers: c.Int("workers"),
		maxInput: c.Int64("max-input") << 20, maxMemory: c.Uint64("max-memory") << 20,
	}
	g.admission = []admission.Option{
		admission.WithFailOpen(c.Bool("fail-open")),
		admission.WithCache(c.Int("cache-size"), c.Duration("cache-ttl")),
		admission.WithTimeout(c.Duration("review-timeout")),
		admission.WithInsecure(!c.Bool("tls-verify")),
		admission.WithLog(c.App.ErrWriter),
		admission.WithReload(c.Duration("reload-interval"), g.files()...),
	}
	certs, err := newCertReloader(c.String("tls-cert-file"), c.String("tls-key-file"))
	if err != nil {
		return stepcli.Usagef("%v", err)
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return stepcli.Usagef("--listen: %v", err)
	}
	return runGate(ctx, ln, certs, g, stopTimes{reload: c.Duration("reload-interval"), drain: c.Duration("drain-delay"), grace: c.Duration("shutdown-grace")}, c.App.ErrWriter)
}

// stopTimes are runGate's reload interval and shutdown delays.
type stopTimes struct{ reload, drain, grace time.Duration }

// runGate serves the gate on ln until ctx ends (SIGTERM in main), then
// drains and shuts down gracefully.
func runGate(ctx context.Context, ln net.Listener, certs *certReloader, g gateConfig, st stopTimes, log io.Writer) error {
	srv, err := admission.New(ctx, g.loader(), g.admission...)
	if err != nil {
		ln.Close()
		return stepcli.Usagef("%v", err)
	}
	defer srv.Close()
	hs := &http.Server{
		Handler:           srv.Handler(),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	go srv.Watch(watchCtx)
	if st.reload > 0 {
		go certs.watch(watchCtx, st.reload, log)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	fmt.Fprintf(log, "deploy gate serving https://%s (/validate, /mutate, /healthz, /readyz, /metrics)\n", ln.Addr())
	select {
	case err := <-errc:
		return &exitcode.Err{Code: exitcode.Error, Err: err}
	case <-ctx.Done():
	}
	fmt.Fprintf(log, "stopping: %v; /readyz fails, serving for %s more, then up to %s for reviews in flight\n", context.Cause(ctx), st.drain, st.grace)
	srv.Drain()
	select {
	case err := <-errc:
		return &exitcode.Err{Code: exitcode.Error, Err: err}
	case <-time.After(st.drain):
	}
	sctx, cancel := context.WithTimeout(context.Background(), st.grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return &exitcode.Err{Code: exitcode.Error, Err: fmt.Errorf("shutdown: %w", err)}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return &exitcode.Err{Code: exitcode.Error, Err: err}
	}
	fmt.Fprintln(log, "stopped")
	return nil
}

// certReloader serves the certificate in its files, loading them again
// when their contents change (cert-manager renews in place).
type certReloader struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
	raw               string
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// load reads the files and reports whether the certificate changed.
func (r *certReloader) load() (bool, error) {
	cb, err := os.ReadFile(r.certFile)
	if err != nil {
		return false, fmt.Errorf("--tls-cert-file: %w", err)
	}
	kb, err := os.ReadFile(r.keyFile)
	if err != nil {
		return false, fmt.Errorf("--tls-key-file: %w", err)
	}
	raw := string(cb) + "\x00" + string(kb)
	r.mu.RLock()
	same := raw == r.raw
	r.mu.RUnlock()
	if same {
		return false, nil
	}
	cert, err := tls.X509KeyPair(cb, kb)
	if err != nil {
		return false, fmt.Errorf("--tls-cert-file %s, --tls-key-file %s: %w", r.certFile, r.keyFile, err)
	}
	r.mu.Lock()
	r.cert, r.raw = &cert, raw
	r.mu.Unlock()
	return true, nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

func (r *certReloader) watch(ctx context.Context, every time.Duration, log io.Writer) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := r.load()
			switch {
			case err != nil:
				fmt.Fprintf(log, "TLS certificate reload failed, keeping the previous one: %v\n", err)
			case changed:
				fmt.Fprintln(log, "TLS certificate reloaded")
			}
		}
	}
}
