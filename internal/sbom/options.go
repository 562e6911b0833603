package sbom

import (
	cdx "github.com/CycloneDX/cyclonedx-go"
	"io"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/sbom/layerfs"
)

// Option configures cataloging, encoding and attaching.
type Option func(*options)

type options struct {
	cacheDir    string
	tmpDir      string
	spillDir    string
	progress    io.Writer
	parallelism int
	limits      []layerfs.Option
	remote      []remote.Option

	supplier     string
	author       string
	sourceURL    string
	sourceCommit string
	now          func() time.Time
	serial       func() string
	toolVersion  string
	prefetched   []cdx.Component
}

func makeOptions(opts []Option) options {
	o := options{
		progress:    io.Discard,
		parallelism: runtime.GOMAXPROCS(0),
		now:         time.Now,
		serial:      randomSerial,
		toolVersion: Version,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.parallelism < 1 {
		o.parallelism = 1
	}
	return o
}

// Version is trustline's sbom tool version as written into documents.
var Version = "0.1.0"

// WithCacheDir keeps each layer's catalog in dir, keyed by the layer's
// verified content (its compressed digest and its diff_id, stored only
// after the blob was proven to decompress to that diff_id), the image's
// distribution and the cataloger version, so a later image sharing layers
// only catalogs its new ones. Default: no cache.
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithTempDir sets where layers are unpacked (default os.TempDir()).
func WithTempDir(dir string) Option { return func(o *options) { o.tmpDir = dir } }

// WithSpillDir names where a layer is unpacked when the temporary
// directory runs out of space (ENOSPC): a size-limited tmpfs as the
// temporary directory then costs no failed builds. Default: none, the
// error is returned.
func WithSpillDir(dir string) Option { return func(o *options) { o.spillDir = dir } }

// WithProgress sends one line per layer and phase to w (default: nothing).
func WithProgress(w io.Writer) Option {
	return func(o *options) {
		if w != nil {
			o.progress = w
		}
	}
}

// WithParallelism sets how many layers are unpacked and cataloged at once
// (default GOMAXPROCS).
func WithParallelism(n int) Option { return func(o *options) { o.parallelism = n } }

// WithLayerLimits passes size limits to the layer unpacker (defaults in
// package layerfs).
func WithLayerLimits(l ...layerfs.Option) Option {
	return func(o *options) { o.limits = append(o.limits, l...) }
}

// WithRemoteOptions sets the go-containerregistry options for registry
// access (normally remoteopt.Options(ctx)).
func WithRemoteOptions(r ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, r...) }
}

// WithSupplier names the organisation that supplies the image (the
// document's and root component's supplier). Default: the image's
// org.opencontainers.image.vendor label, if any.
func WithSupplier(name string) Option { return func(o *options) { o.supplier = name } }

// WithAuthor names who made the SBOM (default: the tool).
func WithAuthor(name string) Option { return func(o *options) { o.author = name } }

// WithSource records the source repository and commit the image was built
// from. Default: the org.opencontainers.image.source / .revision labels or
// annotations, if any.
func WithSource(url, commit string) Option {
	return func(o *options) { o.sourceURL, o.sourceCommit = url, commit }
}

// WithClock sets the document timestamp source (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSerial sets how serial numbers (CycloneDX) and document namespaces
// (SPDX) are made; the default is a random UUID.
func WithSerial(f func() string) Option { return func(o *options) { o.serial = f } }
