package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Option configures a Runner.
type Option func(*options)

type options struct {
	binDir      string
	workDir     string
	progress    io.Writer
	stepOutput  io.Writer
	env         []string
	resolver    TaskResolver
	chains      *Chains
	namespace   string
	timeout     time.Duration
	now         func() time.Time
	serviceAcct string
	secrets     map[string]string
}

// WithBinDir is the directory holding the step binaries (bin/<name> for
// an image …/step-<name>@sha256:…). The default is "bin".
func WithBinDir(dir string) Option { return func(o *options) { o.binDir = dir } }

// WithWorkDir is where each TaskRun gets its results, home and log
// directories. The default is a new temporary directory.
func WithWorkDir(dir string) Option { return func(o *options) { o.workDir = dir } }

// WithProgress receives one line per task start and end. The default
// discards them.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithStepOutput also copies every step's stdout and stderr to w (they
// always go to the step's log file). The default is the log file only.
func WithStepOutput(w io.Writer) Option { return func(o *options) { o.stepOutput = w } }

// WithEnv is the environment every step starts from (the step's own env
// is added to it). The default is an empty environment plus PATH.
func WithEnv(env []string) Option { return func(o *options) { o.env = env } }

// WithTaskResolver resolves the taskRef of a pipeline task. The default
// resolves nothing: only embedded taskSpecs run.
func WithTaskResolver(r TaskResolver) Option { return func(o *options) { o.resolver = r } }

// WithChains signs and attests what TaskRuns built, as Tekton Chains does.
// The default does not sign.
func WithChains(c *Chains) Option { return func(o *options) { o.chains = c } }

// WithTimeout is the TaskRun timeout for a single task, and the pipeline
// timeout of a PipelineRun. The default is Tekton's 60 minutes; 0 means none.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithSecrets maps Kubernetes secret names to directories holding their
// keys as files, for Tasks that mount secret volumes (e.g. Chains'
// signing-secrets). An optional secret not given mounts empty; a required
// one is an error. The default is none.
func WithSecrets(dirs map[string]string) Option { return func(o *options) { o.secrets = dirs } }

// withClock is for tests.
func withClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Runner runs Tasks and Pipelines.
type Runner struct {
	o    options
	mu   sync.Mutex // guards progress writes
	logs sync.Mutex // guards step output copies

	signed []Signed
}

// DefaultTimeout is Tekton's default TaskRun and PipelineRun timeout.
const DefaultTimeout = 60 * time.Minute

// New returns a Runner.
func New(opts ...Option) (*Runner, error) {
	o := options{
		binDir:      "bin",
		progress:    io.Discard,
		namespace:   "default",
		timeout:     DefaultTimeout,
		now:         time.Now,
		serviceAcct: "default",
	}
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := filepath.Abs(o.binDir)
	if err != nil {
		return nil, err
	}
	o.binDir = bin
	if o.workDir == "" {
		d, err := os.MkdirTemp("", "trustline-run-")
		if err != nil {
			return nil, err
		}
		o.workDir = d
	}
	if o.workDir, err = filepath.Abs(o.workDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if o.env == nil {
		o.env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	}
	return &Runner{o: o}, nil
}

// WorkDir is where the runs keep their results and logs.
func (r *Runner) WorkDir() string { return r.o.workDir }

// now is the runner's clock, as Kubernetes records times.
func (r *Runner) now() metav1.Time { return metav1.NewTime(r.o.now().UTC()) }

func (r *Runner) progressf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.o.progress, format+"\n", args...)
}
