// Package testregistry starts a real OCI registry (go-containerregistry's
// pkg/registry, with OCI 1.1 referrers) on 127.0.0.1 for tests. It is a
// real HTTP server speaking the distribution API, not a mock.
package testregistry

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Start serves a fresh, empty registry until the test ends and returns its
// host:port.
func Start(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(
		registry.Logger(log.New(io.Discard, "", 0)),
		registry.WithReferrersSupport(true),
	))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Push writes img to ref (a tag or a digest reference) with opts and
// returns the image by digest, as the steps' tests name their inputs.
func Push(t testing.TB, ref string, img v1.Image, opts ...remote.Option) name.Digest {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(d.String())
}

// PushRandom pushes an image of one random 256-byte layer to ref and
// returns it by digest: a stand-in for a built image where its contents do
// not matter.
func PushRandom(t testing.TB, ref string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return Push(t, ref, img)
}
