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

	"github.com/google/go-containerregistry/pkg/registry"
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
