// Package build turns a source tree and a Containerfile into an OCI image
// in a registry with the buildah library: chroot isolation, vfs or overlay
// storage, reproducible timestamps, and hermetic builds whose RUN
// instructions have no network at all.
//
// The flow is: parse the Containerfile (to fail early and to learn the
// base images), check that the destination accepts a push, pull the base
// images, build (in a new network namespace when hermetic), then push
// with go-containerregistry. Nothing is pushed unless the build succeeded.
//
// A program using this package must call buildah.InitReexec() first thing
// in main (and in TestMain) and return when it reports true: buildah's
// chroot isolation and the hermetic build re-execute the binary.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"

	"github.com/trustline-dev/trustline/internal/sourcedate"
)

// Storage drivers the step supports.
const (
	DriverVFS     = "vfs"
	DriverOverlay = "overlay"
)

// Defaults for where images and containers are kept.
const (
	DefaultStorageRoot    = "/var/lib/containers/storage"
	DefaultStorageRunRoot = "/run/containers/storage"
)

// Storage says where and how containers/storage keeps layers.
type Storage struct {
	// Driver is DriverVFS (works on any filesystem, copies every layer)
	// or DriverOverlay (fast, needs a filesystem overlayfs can stack on).
	Driver string
	// Root holds images and layers; RunRoot holds locks and mount state.
	Root    string
	RunRoot string
}

// Annotations the step writes on the pushed manifest.
const (
	AnnotationSource     = v1.AnnotationSource
	AnnotationRevision   = v1.AnnotationRevision
	AnnotationCreated    = v1.AnnotationCreated
	AnnotationBaseName   = v1.AnnotationBaseImageName
	AnnotationBaseDigest = v1.AnnotationBaseImageDigest
)

type options struct {
	contextDir      string
	containerfile   string
	buildArgs       map[string]string
	labels          map[string]string
	target          string
	sourceDateEpoch *time.Time
	hermetic        bool
	storage         Storage
	insecure        bool
	sourceURL       string
	revision        string
	progress        io.Writer
	tempDir         string
	prefetchDir     string
}

// Option configures Build.
type Option func(*options) error

// WithContextDir sets the build context. Default: the working directory.
func WithContextDir(dir string) Option {
	return func(o *options) error { o.contextDir = dir; return nil }
}

// WithContainerfile names the Containerfile, relative to the context
// directory (then to the working directory) unless absolute. Default:
// Containerfile, then Dockerfile, in the context directory.
func WithContainerfile(path string) Option {
	return func(o *options) error { o.containerfile = path; return nil }
}

// WithBuildArgs sets ARG values. Default: none.
func WithBuildArgs(args map[string]string) Option {
	return func(o *options) error {
		for k, v := range args {
			o.buildArgs[k] = v
		}
		return nil
	}
}

// WithLabels sets labels on the image config. Default: none.
func WithLabels(labels map[string]string) Option {
	return func(o *options) error {
		for k, v := range labels {
			o.labels[k] = v
		}
		return nil
	}
}

// WithTarget builds the stage with this name and the stages it needs.
// Default: the last stage.
func WithTarget(stage string) Option {
	return func(o *options) error { o.target = stage; return nil }
}

// WithSourceDateEpoch makes the build reproducible: the image's created
// time, its history, the created annotation and every file timestamp in
// new layers are clamped to t. Default: the current time, and layer
// timestamps as they are.
func WithSourceDateEpoch(t time.Time) Option {
	return func(o *options) error {
		if t.Unix() < 0 {
			return fmt.Errorf("source date epoch %d is before 1970", t.Unix())
		}
		u := time.Unix(t.Unix(), 0).UTC()
		o.sourceDateEpoch = &u
		return nil
	}
}

// WithHermetic runs the build in a new network namespace, with only its
// own loopback interface, after pulling the base images. Base images given
// by tag must already be in storage; those given by digest are pulled.
// Default: off.
func WithHermetic(on bool) Option {
	return func(o *options) error { o.hermetic = on; return nil }
}

// WithStorage sets the storage driver and locations. Default: vfs under
// DefaultStorageRoot and DefaultStorageRunRoot.
func WithStorage(s Storage) Option {
	return func(o *options) error {
		if s.Driver != "" {
			o.storage.Driver = s.Driver
		}
		if s.Root != "" {
			o.storage.Root = s.Root
		}
		if s.RunRoot != "" {
			o.storage.RunRoot = s.RunRoot
		}
		return nil
	}
}

// WithInsecureRegistries allows plain HTTP and unverified TLS for every
// registry (--tls-verify=false). Default: only loopback registries may
// use plain HTTP.
func WithInsecureRegistries(on bool) Option {
	return func(o *options) error { o.insecure = on; return nil }
}

// WithSource records where the source came from, as the
// org.opencontainers.image.source and .revision annotations. Default:
// neither annotation.
func WithSource(url, revision string) Option {
	return func(o *options) error { o.sourceURL, o.revision = url, revision; return nil }
}

// WithProgress sends progress (pulls, build output, push) to w. Default:
// discarded.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w != nil {
			o.progress = w
		}
		return nil
	}
}

// WithTempDir sets where the step keeps its temporary files (the
// signature policy and the OCI layout it pushes from). Default:
// os.TempDir().
func WithTempDir(dir string) Option {
	return func(o *options) error { o.tempDir = dir; return nil }
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		buildArgs: map[string]string{},
		labels:    map[string]string{},
		storage:   Storage{Driver: DriverVFS, Root: DefaultStorageRoot, RunRoot: DefaultStorageRunRoot},
		progress:  io.Discard,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	switch o.storage.Driver {
	case DriverVFS, DriverOverlay:
	default:
		return nil, fmt.Errorf("storage driver %q: want %s or %s", o.storage.Driver, DriverVFS, DriverOverlay)
	}
	if o.contextDir == "" {
		o.contextDir = "."
	}
	dir, err := filepath.Abs(o.contextDir)
	if err != nil {
		return nil, fmt.Errorf("context directory %s: %w", o.contextDir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("context directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("context directory %s is not a directory", dir)
	}
	o.contextDir = dir
	// A SOURCE_DATE_EPOCH build argument means the same as the option:
	// buildah would clamp the config's times to it but leave the layers'.
	if v, ok := o.buildArgs["SOURCE_DATE_EPOCH"]; ok && o.sourceDateEpoch == nil {
		t, err := sourcedate.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("build argument SOURCE_DATE_EPOCH: %w", err)
		}
		o.sourceDateEpoch = &t
	}
	return o, nil
}

// BaseImage is the image the final stage is built on.
type BaseImage struct {
	// Name is the reference as the Containerfile gives it (after ARG
	// expansion).
	Name string `json:"name"`
	// Digest is the manifest digest that was used.
	Digest string `json:"digest"`
}

// Result is what Build pushed.
type Result struct {
	// URL is the reference pushed, with its tag (IMAGE_URL).
	URL string
	// Digest is the sha256 digest of the pushed manifest (IMAGE_DIGEST).
	Digest string
	// Ref is repository@digest (IMAGE_REF).
	Ref string
	// ImageID is the image's ID in local storage.
	ImageID string
	// Base is the final stage's base image, nil for scratch.
	Base *BaseImage
	// Annotations are the manifest annotations of the pushed image.
	Annotations map[string]string
}

// Build builds the Containerfile in the context and pushes the image to
// tag. The caller parses the reference (with WithInsecureRegistries' flag,
// so that the tag's scheme matches it): a digest cannot be a destination,
// since the digest is what the build produces.
func Build(ctx context.Context, tag name.Tag, opts ...Option) (_ *Result, err error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	cfPath, plan, err := o.readPlan()
	if err != nil {
		return nil, err
	}
	phase := phaseTimer(o.progress)
	// Fail before a long build, not after it, when the destination cannot
	// take the image.
	if err := checkPush(ctx, tag, o.insecure); err != nil {
		return nil, err
	}

	tmp, err := os.MkdirTemp(o.tempDir, "trustline-build-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer func() {
		if rerr := removeTemp(tmp); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	conf, err := useContainersConfig(tmp)
	if err != nil {
		return nil, err
	}
	st, err := openStore(o.storage)
	if err != nil {
		return nil, err
	}
	defer st.Shutdown(false)

	fmt.Fprintf(o.progress, "build: %s with %s storage at %s\n", cfPath, o.storage.Driver, o.storage.Root)
	bases, err := pullBases(ctx, st, plan, o, conf)
	if err != nil {
		return nil, err
	}
	phase("base images ready")
	annotations, base, err := o.manifestAnnotations(plan, bases)
	if err != nil {
		return nil, err
	}
	imageID, err := o.buildImage(ctx, st, o.spec(tag, cfPath, annotations, conf), tmp)
	if err != nil {
		return nil, err
	}
	phase("built image " + imageID)
	digest, pushed, err := push(ctx, st, imageID, tag, tmp, conf, bases.rename, o.insecure, o.progress)
	if err != nil {
		return nil, err
	}
	phase("pushed " + tag.Name() + "@" + digest)
	return &Result{
		URL:         tag.Name(),
		Digest:      digest,
		Ref:         tag.Context().Name() + "@" + digest,
		ImageID:     imageID,
		Base:        base,
		Annotations: pushed,
	}, nil
}

// readPlan finds and parses the Containerfile before anything else, so a
// bad one fails the step at once.
func (o *options) readPlan() (string, *Plan, error) {
	cfPath, err := findContainerfile(o.contextDir, o.containerfile)
	if err != nil {
		return "", nil, err
	}
	data, err := os.ReadFile(cfPath)
	if err != nil {
		return "", nil, fmt.Errorf("containerfile: %w", err)
	}
	plan, err := ParsePlan(cfPath, data, o.buildArgs, o.target)
	if err != nil {
		return "", nil, err
	}
	return cfPath, plan, nil
}

// phaseTimer returns a function that reports a finished phase with the
// time it took since the previous one (or since phaseTimer was called).
func phaseTimer(progress io.Writer) func(what string) {
	start := time.Now()
	return func(what string) {
		fmt.Fprintf(progress, "build: %s (%.2fs)\n", what, time.Since(start).Seconds())
		start = time.Now()
	}
}

// useContainersConfig writes the step's own containers configuration under
// tmp and has this process read it: the host's files must not change what
// a build does.
func useContainersConfig(tmp string) (containersConfig, error) {
	conf, err := writeContainersConfig(tmp)
	if err != nil {
		return conf, err
	}
	if err := conf.useInProcess(); err != nil {
		return conf, err
	}
	return conf, nil
}

// manifestAnnotations are the source and base-image annotations the
// pushed manifest carries; base is nil when the final stage is scratch.
func (o *options) manifestAnnotations(plan *Plan, bases *pulledBases) (map[string]string, *BaseImage, error) {
	annotations := map[string]string{}
	if o.sourceURL != "" {
		annotations[AnnotationSource] = o.sourceURL
	}
	if o.revision != "" {
		annotations[AnnotationRevision] = o.revision
	}
	var base *BaseImage
	if plan.FinalBase != "" {
		d, ok := bases.digest[plan.FinalBase]
		if !ok {
			return nil, nil, fmt.Errorf("internal error: base image %s was not pulled", plan.FinalBase)
		}
		base = &BaseImage{Name: plan.FinalBase, Digest: d}
		annotations[AnnotationBaseName] = base.Name
		annotations[AnnotationBaseDigest] = base.Digest
	}
	return annotations, base, nil
}

// spec is what buildah's executor is asked to build. A hermetic build
// must not pull: its base images were pulled before it lost the network.
func (o *options) spec(tag name.Tag, cfPath string, annotations map[string]string, conf containersConfig) buildSpec {
	return buildSpec{
		ContextDir:      o.contextDir,
		Containerfile:   cfPath,
		Output:          tag.Name(),
		Args:            o.buildArgs,
		Labels:          o.labels,
		Annotations:     annotations,
		Target:          o.target,
		SourceDateEpoch: o.sourceDateEpoch,
		Storage:         o.storage,
		Insecure:        o.insecure,
		Config:          conf,
		NoPull:          o.hermetic,
		Hermetic:        o.hermetic,
	}
}

// buildImage runs the build with the prefetched dependencies mounted and
// returns the new image's ID in storage.
func (o *options) buildImage(ctx context.Context, st storage.Store, spec buildSpec, tmp string) (string, error) {
	// Errors name the user's Containerfile, not the copy applyPrefetch
	// may put in its place.
	cfPath := spec.Containerfile
	if err := o.applyPrefetch(&spec, tmp); err != nil {
		return "", err
	}
	if o.hermetic {
		fmt.Fprintf(o.progress, "build: hermetic: running the build in a new network namespace\n")
	}
	imageID, err := runAndClean(ctx, st, spec, o.progress)
	if err != nil {
		// Say why a hermetic build's RUN may have failed; a cancelled one
		// failed because it was cancelled.
		if o.hermetic && ctx.Err() == nil {
			return "", fmt.Errorf("build %s (hermetic: RUN instructions have no network): %w", cfPath, err)
		}
		return "", fmt.Errorf("build %s: %w", cfPath, err)
	}
	return imageID, nil
}

// errNoNetwork is what a hermetic build reports when a base image would
// have to come from a registry.
var errNoNetwork = errors.New("hermetic builds pull only base images given by digest (name@sha256:…); pull this one beforehand or pin it")

// isLoopback reports whether a registry host[:port] is on this machine:
// localhost or a loopback IP, the registries go-containerregistry also
// reaches over plain HTTP.
func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
