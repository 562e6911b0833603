package main

import (
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/build"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/sourcedate"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func newApp() *cli.App {
	return &cli.App{
		Name:  "build",
		Usage: "build a container image with buildah and push it",
		UsageText: `build --image REGISTRY/REPO:TAG [--context DIR] [--containerfile PATH] [options] [-- --build-arg K=V... --label K=V...]

Example:
   build --context . --image quay.io/acme/app:v1 \
     --build-arg VERSION=1.2.3 --label team=payments \
     --source-url https://github.com/acme/app --revision 3f2c1e0 \
     --source-date-epoch 1700000000 --hermetic --results-dir /tekton/results`,
		Description: `Builds the Containerfile (default: Containerfile, then Dockerfile, in the
context) with the buildah library and chroot isolation, then pushes the image
with go-containerregistry using the docker config.json credentials in
DOCKER_CONFIG. It writes IMAGE_URL, IMAGE_DIGEST and IMAGE_REF to the results
directory. The manifest carries org.opencontainers.image.source, .revision,
.created and, when the final stage has a base image, .base.name and
.base.digest.

--source-date-epoch (or SOURCE_DATE_EPOCH) makes the build reproducible: two
builds of the same context give the same digest. --hermetic pulls the base
images first (those given by tag must already be in storage), runs the build
in a new network namespace, then pushes from outside it.

--prefetch-dir mounts the prefetch step's output at /prefetch in every RUN
instruction and sets the variables of its prefetch.env (GOMODCACHE,
GOPROXY=off, npm_config_cache, PIP_NO_INDEX…) for RUN instructions only, so
that go, npm and pip build from the prefetched dependencies with no network.

Needs root (CAP_SYS_ADMIN) for chroot isolation, mounts and the network
namespace. Exit codes: 0 pushed, 2 the build or push failed (nothing pushed).

After "--", "--build-arg" and "--label" each take every following K=V up to
the next of them, so that a Tekton array parameter can be passed whole:
   build --image quay.io/acme/app:v1 -- --build-arg A=1 B=2 --label team=x`,
		// A value may hold commas (a build argument listing hosts, say);
		// repeat the flag instead.
		DisableSliceFlagSeparator: true,
		HideHelpCommand:           true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "context", Value: ".", Usage: "build context `DIR`"},
			&cli.StringFlag{Name: "containerfile", Usage: "Containerfile `PATH`, relative to the context (default: Containerfile, then Dockerfile)"},
			&cli.StringFlag{Name: "image", Required: true, Usage: "push to `REF` (registry/repo:tag)"},
			&cli.StringSliceFlag{Name: "build-arg", Usage: "set a build argument `K=V` (repeatable)"},
			&cli.StringFlag{Name: "target", Usage: "build the `STAGE` with this name (default: the last)"},
			&cli.StringSliceFlag{Name: "label", Usage: "set an image label `K=V` (repeatable)"},
			&cli.StringFlag{Name: "source-url", Usage: "source repository `URL` for the org.opencontainers.image.source annotation"},
			&cli.StringFlag{Name: "revision", Usage: "source `REVISION` (commit) for the org.opencontainers.image.revision annotation"},
			&cli.StringFlag{Name: "source-date-epoch", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Usage: "clamp every timestamp to `SECONDS` since 1970 (reproducible builds)"},
			&cli.BoolFlag{Name: "hermetic", Usage: "run the build without network (base images must be present or given by digest)"},
			&cli.StringFlag{Name: "prefetch-dir", Usage: "mount the prefetch step's output `DIR` at " + build.PrefetchMountPath + " in every RUN, with its prefetch.env (absent: nothing prefetched)"},
			&cli.StringFlag{Name: "storage-driver", Value: build.DriverVFS, Usage: "containers/storage `DRIVER`: vfs or overlay"},
			&cli.StringFlag{Name: "storage-root", Value: build.DefaultStorageRoot, Usage: "keep images and layers in `DIR`"},
			&cli.StringFlag{Name: "storage-runroot", Value: build.DefaultStorageRunRoot, Usage: "keep storage locks and mount state in `DIR`"},
			stepcli.TLSVerifyFlag(),
			stepcli.JSONOutputFlag(),
			stepcli.ResultsDirFlag(),
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	moreArgs, moreLabels, err := trailingLists(c.Args().Slice())
	if err != nil {
		return stepcli.Usagef("%v", err)
	}
	args, err := build.ParseBuildArgs(append(c.StringSlice("build-arg"), moreArgs...))
	if err != nil {
		return stepcli.Usagef("%v", err)
	}
	labels, err := build.ParseLabels(append(c.StringSlice("label"), moreLabels...))
	if err != nil {
		return stepcli.Usagef("%v", err)
	}
	opts := []build.Option{
		build.WithContextDir(c.String("context")),
		build.WithContainerfile(c.String("containerfile")),
		build.WithBuildArgs(args),
		build.WithLabels(labels),
		build.WithTarget(c.String("target")),
		build.WithHermetic(c.Bool("hermetic")),
		build.WithStorage(build.Storage{
			Driver:  c.String("storage-driver"),
			Root:    c.String("storage-root"),
			RunRoot: c.String("storage-runroot"),
		}),
		build.WithInsecureRegistries(!c.Bool("tls-verify")),
		build.WithSource(c.String("source-url"), c.String("revision")),
		build.WithProgress(c.App.ErrWriter),
		build.WithPrefetchDir(c.String("prefetch-dir")),
	}
	if s := c.String("source-date-epoch"); s != "" {
		t, err := sourcedate.Parse(s)
		if err != nil {
			return stepcli.Usagef("--source-date-epoch / SOURCE_DATE_EPOCH: %v", err)
		}
		opts = append(opts, build.WithSourceDateEpoch(t))
	}
	if os.Geteuid() != 0 {
		return stepcli.Usagef("build needs root (chroot isolation, mounts, network namespaces); run it as uid 0")
	}

	tag, err := destination(c.String("image"), !c.Bool("tls-verify"))
	if err != nil {
		return err
	}
	res, err := build.Build(c.Context, tag, opts...)
	if err != nil {
		return err
	}
	if err := stepcli.WriteResults(c, [][2]string{
		{"IMAGE_URL", res.URL},
		{"IMAGE_DIGEST", res.Digest},
		{"IMAGE_REF", res.Ref},
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "build: pushed %s\n", res.Ref)
	return stepcli.PrintJSON(c, struct {
		URL         string            `json:"url"`
		Digest      string            `json:"digest"`
		Ref         string            `json:"ref"`
		ImageID     string            `json:"imageID"`
		Base        *build.BaseImage  `json:"base,omitempty"`
		Annotations map[string]string `json:"annotations"`
	}{res.URL, res.Digest, res.Ref, res.ImageID, res.Base, res.Annotations})
}

// destination parses --image: a tag, since the digest is what the build
// produces. insecure allows plain HTTP to any registry, as
// build.WithInsecureRegistries does for the push.
func destination(image string, insecure bool) (name.Tag, error) {
	ref, err := remoteopt.ParseReference(image, remoteopt.Insecure(insecure))
	if err != nil {
		return name.Tag{}, err
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return name.Tag{}, fmt.Errorf("image %q: give a tag (repo:tag), not a digest: the digest is what the build produces", image)
	}
	return tag, nil
}

// trailingLists reads the arguments after "--": "--build-arg" and
// "--label" markers, each followed by any number of K=V values (Tekton
// expands an array parameter into separate arguments, and cannot put a
// flag before each). A marker is never a valid K=V, so the split is
// unambiguous; values are checked by the build package's parsers.
func trailingLists(rest []string) (buildArgs, labels []string, err error) {
	var cur *[]string
	for _, a := range rest {
		switch a {
		case "--build-arg":
			cur = &buildArgs
		case "--label":
			cur = &labels
		default:
			if cur == nil {
				return nil, nil, fmt.Errorf("unexpected argument %q: after \"--\" give --build-arg or --label, then K=V values (the context is given with --context)", a)
			}
			*cur = append(*cur, a)
		}
	}
	return buildArgs, labels, nil
}
