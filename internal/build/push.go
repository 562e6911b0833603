package build

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.podman.io/buildah"
	"go.podman.io/buildah/define"
	ocilayout "go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"

	"github.com/trustline-dev/trustline/internal/remoteopt"
)

// checkPush asks the registry for push access to the destination
// repository (a token exchange and an upload that is started and
// cancelled), so an unreachable registry or missing credentials fail the
// step before the build rather than after it.
func checkPush(ctx context.Context, tag name.Tag, insecure bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := remote.CheckPushPermission(tag, authn.DefaultKeychain, remoteopt.RetryTransport(registryTransport(insecure))); err != nil {
		return fmt.Errorf("registry %s: cannot push to %s: %w", tag.RegistryStr(), tag.Context().Name(), err)
	}
	return nil
}

// push copies the built image out of storage into an OCI layout (gzip
// layers, OCI manifest: the bytes that get a digest) and writes that
// layout to the registry with go-containerregistry, through the same
// options (keychain, retries, loopback rule) as every trustline step. It
// returns the digest of the pushed manifest and its annotations. On the
// way, history comments are made independent of local image names (see
// normalizeHistory).
// registryTransport is the HTTP transport for the destination registry: the
// default one, or with certificate checks off when the user turned TLS
// verification off (--tls-verify=false), as containers/image does for the
// base image pulls.
func registryTransport(insecure bool) http.RoundTripper {
	if !insecure {
		return remote.DefaultTransport
	}
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	return t
}

func push(ctx context.Context, st storage.Store, imageID string, tag name.Tag, tmp string, conf containersConfig, rename map[string]string, insecure bool, progress io.Writer) (string, map[string]string, error) {
	dir := filepath.Join(tmp, "layout")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("push: %w", err)
	}
	dest, err := ocilayout.NewReference(dir, "image")
	if err != nil {
		return "", nil, fmt.Errorf("push: %w", err)
	}
	if _, _, err := buildah.Push(ctx, imageID, dest, buildah.PushOptions{
		Store:               st,
		Compression:         archive.Gzip,
		ManifestType:        define.OCIv1ImageManifest,
		SignaturePolicyPath: conf.path(confPolicy),
		SystemContext:       conf.systemContext(&types.SystemContext{}),
		ReportWriter:        progress,
	}); err != nil {
		return "", nil, fmt.Errorf("exporting image %s from storage: %w", imageID, err)
	}
	if _, err := normalizeHistory(dir, rename); err != nil {
		return "", nil, fmt.Errorf("push: normalizing history: %w", err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return "", nil, fmt.Errorf("push: reading %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return "", nil, fmt.Errorf("push: reading %s: %w", dir, err)
	}
	if len(im.Manifests) != 1 {
		return "", nil, fmt.Errorf("push: %s holds %d manifests, want 1", dir, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return "", nil, fmt.Errorf("push: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return "", nil, fmt.Errorf("push: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", nil, fmt.Errorf("push: %w", err)
	}
	fmt.Fprintf(progress, "build: exported; pushing %s@%s\n", tag.Name(), digest)
	if err := remote.Write(tag, img, remoteopt.Options(ctx, remote.WithTransport(registryTransport(insecure)))...); err != nil {
		return "", nil, fmt.Errorf("pushing %s: %w", tag.Name(), err)
	}
	return digest.String(), m.Annotations, nil
}
