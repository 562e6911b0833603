package bundle

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Pushed is what Push wrote.
type Pushed struct {
	// Digest is the bundle, repo@sha256:...
	Digest    name.Digest
	Resources []Resource
}

// Push builds a bundle from files (YAML or JSON, one or more Tekton
// resources each) and pushes it to ref, and to each of the extra tags (in
// the same repository) if any. remoteOpts are go-containerregistry's
// (credentials, transport); see internal/remoteopt.
func Push(ctx context.Context, files []string, ref name.Reference, remoteOpts []remote.Option, opts ...Option) (*Pushed, error) {
	contents := make([][]byte, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		contents = append(contents, b)
	}
	img, res, err := Build(contents, append(opts, withNames(files))...)
	if err != nil {
		return nil, err
	}
	d, err := Write(ctx, img, ref, remoteOpts)
	if err != nil {
		return nil, err
	}
	return &Pushed{Digest: d, Resources: res}, nil
}

// Write pushes a built bundle to ref and returns its digest reference.
func Write(ctx context.Context, img v1.Image, ref name.Reference, remoteOpts []remote.Option) (name.Digest, error) {
	h, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Write(ref, img, append([]remote.Option{remote.WithContext(ctx)}, remoteOpts...)...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing bundle to %s: %w", ref, err)
	}
	return ref.Context().Digest(h.String()), nil
}

// Fetch reads the bundle image at ref from its registry.
func Fetch(ctx context.Context, ref name.Reference, remoteOpts []remote.Option) (v1.Image, error) {
	img, err := remote.Image(ref, append([]remote.Option{remote.WithContext(ctx)}, remoteOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("fetching bundle %s: %w", ref, err)
	}
	return img, nil
}

// List fetches the bundle at ref and returns its resources.
func List(ctx context.Context, ref name.Reference, remoteOpts []remote.Option) ([]Resource, name.Digest, error) {
	img, err := Fetch(ctx, ref, remoteOpts)
	if err != nil {
		return nil, name.Digest{}, err
	}
	h, err := img.Digest()
	if err != nil {
		return nil, name.Digest{}, err
	}
	res, err := Read(img)
	if err != nil {
		return nil, name.Digest{}, fmt.Errorf("bundle %s: %w", ref, err)
	}
	return res, ref.Context().Digest(h.String()), nil
}

// Pull fetches the bundle at ref and writes each resource into dir as
// <kind>-<name>.yaml, returning the files written. Nothing is written
// unless every layer reads cleanly.
func Pull(ctx context.Context, ref name.Reference, dir string, remoteOpts []remote.Option) ([]string, error) {
	res, _, err := List(ctx, ref, remoteOpts)
	if err != nil {
		return nil, err
	}
	return WriteDir(res, dir)
}
