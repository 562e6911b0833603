package attest

import (
	"errors"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/cosignoci"
)

// Option configures Run and Provenance.
type Option func(*options)

type options struct {
	progress  io.Writer
	remote    []remote.Option
	referrers bool
	client    *cosignoci.Client
}

// WithProgress receives human progress lines. The default discards them.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithRemoteOptions are passed to every registry call (the default is
// remoteopt's: default keychain, retries).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, opts...) }
}

// WithReferrers also stores each attestation as an OCI 1.1 referrer in the
// sigstore bundle layout. The default writes only the .att tag.
func WithReferrers(on bool) Option { return func(o *options) { o.referrers = on } }

// WithClient writes through c, a client the caller has configured. The
// default is a client made from WithProgress and WithRemoteOptions, which
// therefore cannot be given with it.
func WithClient(c *cosignoci.Client) Option { return func(o *options) { o.client = c } }

func makeOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.client != nil {
		if o.progress != nil || len(o.remote) > 0 {
			return o, errors.New("attest: WithClient cannot be combined with WithProgress or WithRemoteOptions (configure the client instead)")
		}
		return o, nil
	}
	if o.progress == nil {
		o.progress = io.Discard
	}
	copts := []cosignoci.Option{cosignoci.WithProgress(o.progress)}
	if len(o.remote) > 0 {
		copts = append(copts, cosignoci.WithRemoteOptions(o.remote...))
	}
	o.client = cosignoci.New(copts...)
	return o, nil
}
