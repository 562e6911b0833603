// Package remoteopt holds the one way every trustline binary talks to a
// registry: go-containerregistry with the default keychain (DOCKER_CONFIG,
// ~/.docker/config.json, as Tekton mounts them), retries with backoff, and
// plain HTTP only for loopback registries or when the caller asks for it.
package remoteopt

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// UserAgent names trustline to registries.
const UserAgent = "trustline"

// Insecure parses references so that plain HTTP is allowed for any
// registry, not only loopback ones. Only a user's explicit flag
// (--tls-verify=false) should set it.
type Insecure bool

// nameOptions are the options that parse a reference the way insecure says.
func (insecure Insecure) nameOptions() []name.Option {
	if insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// ParseReference parses a tag or digest reference. Plain HTTP is used for
// loopback registries (go-containerregistry's rule) and, when insecure is
// set, for any registry.
func ParseReference(ref string, insecure Insecure) (name.Reference, error) {
	r, err := name.ParseReference(ref, insecure.nameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return r, nil
}

// ParseDigest parses a reference that must name a digest (repo@sha256:...).
func ParseDigest(ref string, insecure Insecure) (name.Digest, error) {
	d, err := name.NewDigest(ref, insecure.nameOptions()...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("image reference %q must be repo@sha256:<hex>: %w", ref, err)
	}
	return d, nil
}

// Options returns the remote options every registry call uses.
func Options(ctx context.Context, extra ...remote.Option) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithUserAgent(UserAgent),
		remote.WithRetryBackoff(retryBackoff),
		remote.WithRetryStatusCodes(retryStatusCodes...),
	}
	return append(opts, extra...)
}

// retryBackoff and retryStatusCodes are the bounded retries of every
// registry call: four attempts after the first, from 250 ms, doubling.
var (
	retryBackoff     = remote.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 4}
	retryStatusCodes = []int{http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
)

// RetryTransport wraps inner with the retries Options gives, for the
// go-containerregistry calls that take a transport instead of options
// (remote.CheckPushPermission): without it a registry's 429 before a
// build failed the build at once.
func RetryTransport(inner http.RoundTripper) http.RoundTripper {
	return transport.NewRetry(inner, transport.WithRetryBackoff(retryBackoff), transport.WithRetryStatusCodes(retryStatusCodes...))
}
