package build

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"go.podman.io/buildah"
	"go.podman.io/buildah/define"
	"go.podman.io/buildah/imagebuildah"
	"go.podman.io/common/libimage"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"golang.org/x/sys/unix"
)

// buildSpec is everything the build itself needs. It crosses a process
// boundary as JSON when the build runs in a new network namespace, so it
// holds only plain values.
type buildSpec struct {
	ContextDir      string            `json:"contextDir"`
	Containerfile   string            `json:"containerfile"`
	Output          string            `json:"output"`
	Args            map[string]string `json:"args,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
	Target          string            `json:"target,omitempty"`
	SourceDateEpoch *time.Time        `json:"sourceDateEpoch,omitempty"`
	Storage         Storage           `json:"storage"`
	Insecure        bool              `json:"insecure,omitempty"`
	// Config is the containers configuration the build reads instead of
	// the host's.
	Config containersConfig `json:"config"`
	// NoPull forbids the build from pulling anything: the base images are
	// in storage already and a hermetic build has no network to pull with.
	NoPull bool `json:"noPull,omitempty"`
	// Hermetic runs the build in its own, empty network namespace.
	Hermetic bool `json:"hermetic,omitempty"`
}

func openStore(s Storage) (storage.Store, error) {
	st, err := storage.GetStore(storage.StoreOptions{
		GraphDriverName: s.Driver,
		GraphRoot:       s.Root,
		RunRoot:         s.RunRoot,
	})
	if err != nil {
		return nil, fmt.Errorf("storage (%s driver at %s): %w", s.Driver, s.Root, err)
	}
	return st, nil
}

// systemContext returns the containers/image settings for talking to
// registry: plain HTTP (and unverified TLS) only for loopback registries or
// when the user turned TLS verification off, as go-containerregistry does.
// Credentials come from containers/image's own lookup, which reads
// $DOCKER_CONFIG/config.json as Tekton mounts it.
func systemContext(registry string, insecure bool, conf containersConfig) *types.SystemContext {
	sc := conf.systemContext(&types.SystemContext{})
	if insecure || isLoopback(registry) {
		sc.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	return sc
}

// pulledBases is what pullBases learned about the base images.
type pulledBases struct {
	// digest maps each Containerfile reference to the manifest digest
	// used.
	digest map[string]string
	// rename maps the names the images have in local storage to the
	// Containerfile's references (see normalizeHistory).
	rename map[string]string
}

// pullBases pulls the images the plan reads. Base images given by tag are
// refreshed (a stale local copy must not be built on silently); those
// given by digest are pulled only when missing. In a hermetic build a tag
// is never resolved against a registry: it must be in storage already.
func pullBases(ctx context.Context, st storage.Store, plan *Plan, o *options, conf containersConfig) (*pulledBases, error) {
	out := &pulledBases{digest: map[string]string{}, rename: map[string]string{}}
	for _, img := range plan.Images {
		named, err := reference.ParseNormalizedNamed(img)
		if err != nil {
			return nil, fmt.Errorf("base image %q: %w", img, err)
		}
		_, byDigest := named.(reference.Canonical)
		policyFor := define.PullAlways
		switch {
		case byDigest:
			policyFor = define.PullIfMissing
		case o.hermetic:
			policyFor = define.PullNever
		}
		fmt.Fprintf(o.progress, "build: base image %s (pull %s)\n", img, policyFor)
		sc := systemContext(reference.Domain(named), o.insecure, conf)
		id, err := buildah.Pull(ctx, img, buildah.PullOptions{
			Store:               st,
			SystemContext:       sc,
			SignaturePolicyPath: conf.path(confPolicy),
			ReportWriter:        o.progress,
			PullPolicy:          policyFor,
			MaxRetries:          3,
			RetryDelay:          time.Second,
		})
		if err != nil {
			if policyFor == define.PullNever {
				return nil, fmt.Errorf("base image %s is not in local storage: %w: %w", img, errNoNetwork, err)
			}
			return nil, fmt.Errorf("base image %s: %w", img, err)
		}
		rt, err := libimage.RuntimeFromStore(st, &libimage.RuntimeOptions{SystemContext: sc})
		if err != nil {
			return nil, err
		}
		stored, _, err := rt.LookupImage(id, nil)
		if err != nil {
			return nil, fmt.Errorf("base image %s: %w", img, err)
		}
		if c, ok := named.(reference.Canonical); ok {
			out.digest[img] = c.Digest().String()
		} else if d := stored.Digest(); d != "" {
			out.digest[img] = d.String()
		} else {
			return nil, fmt.Errorf("base image %s: no manifest digest in storage", img)
		}
		for _, n := range stored.Names() {
			// Two references to one image: any fixed choice will do.
			if prev, ok := out.rename[n]; !ok || img < prev {
				out.rename[n] = img
			}
		}
	}
	return out, nil
}

// runBuild runs buildah's Containerfile executor and returns the ID of
// the image it committed to storage.
func runBuild(ctx context.Context, st storage.Store, spec buildSpec, progress io.Writer) (string, error) {
	ulimits, err := ulimits()
	if err != nil {
		return "", err
	}
	pull := define.PullIfMissing
	if spec.NoPull {
		pull = define.PullNever
	}
	sc := spec.Config.systemContext(&types.SystemContext{})
	if spec.Insecure {
		sc.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	// buildah logs warnings through logrus' standard logger; keep them
	// with the rest of the progress while it runs.
	prev := logrus.StandardLogger().Out
	logrus.SetOutput(progress)
	defer logrus.SetOutput(prev)

	opts := define.BuildOptions{
		ContextDirectory:        spec.ContextDir,
		PullPolicy:              pull,
		Isolation:               define.IsolationChroot,
		Output:                  spec.Output,
		Args:                    maps.Clone(spec.Args),
		Labels:                  kvList(spec.Labels),
		Annotations:             kvList(spec.Annotations),
		Target:                  spec.Target,
		OutputFormat:            define.OCIv1ImageManifest,
		SystemContext:           sc,
		SignaturePolicyPath:     spec.Config.path(confPolicy),
		Out:                     progress,
		Err:                     progress,
		ReportWriter:            progress,
		RemoveIntermediateCtrs:  true,
		ForceRmIntermediateCtrs: true,
		// The base image's own annotations describe the base, not this
		// image (its source, revision, base): drop them, and set ours.
		InheritAnnotations: types.OptionalBoolFalse,
		CommonBuildOpts: &define.CommonBuildOptions{
			Ulimit: ulimits,
		},
		MaxPullPushRetries: 3,
		PullPushRetryDelay: time.Second,
	}
	// RUN instructions use the step's network namespace (chroot isolation
	// cannot do otherwise; a hermetic build made that namespace empty):
	// say so, and give buildah no network backend to look for.
	opts.NamespaceOptions = define.NamespaceOptions{{Name: string(specs.NetworkNamespace), Host: true}}
	opts.ConfigureNetwork = define.NetworkEnabled
	opts.NetworkInterface = stepNetwork{}
	// No host mounts.conf subscriptions, no host OCI hooks.
	opts.DefaultMountsFilePath = spec.Config.path(confMounts)
	opts.CommonBuildOpts.OCIHooksDir = []string{spec.Config.path(confHooksD)}
	if spec.SourceDateEpoch != nil {
		t := *spec.SourceDateEpoch
		opts.SourceDateEpoch = &t
		opts.RewriteTimestamp = true
	}
	id, _, err := imagebuildah.BuildDockerfiles(ctx, st, opts, spec.Containerfile)
	if err != nil {
		return "", err
	}
	return id, nil
}

// ulimits sets RLIMIT_NOFILE and RLIMIT_NPROC for RUN instructions to this
// process's own hard limits. Left unset, buildah asks for 1048576 open
// files, and setrlimit fails (so every RUN fails) wherever the hard limit
// is lower and the process may not raise it, as in most CI runners and
// pods.
func ulimits() ([]string, error) {
	var out []string
	for _, l := range []struct {
		name     string
		resource int
	}{{"nofile", unix.RLIMIT_NOFILE}, {"nproc", unix.RLIMIT_NPROC}} {
		var r unix.Rlimit
		if err := unix.Getrlimit(l.resource, &r); err != nil {
			return nil, fmt.Errorf("reading RLIMIT_%s: %w", l.name, err)
		}
		out = append(out, l.name+"="+rlimitValue(r.Max)+":"+rlimitValue(r.Max))
	}
	return out, nil
}

func rlimitValue(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "-1"
	}
	return strconv.FormatUint(v, 10)
}

func kvList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	// Sorted, so that the same inputs give the same build (buildah
	// applies them in order).
	slices.Sort(out)
	return out
}
