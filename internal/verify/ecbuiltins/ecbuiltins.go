// Package ecbuiltins implements Conforma's custom Rego built-ins
// (ec.oci.*, ec.purl.*, ec.sigstore.*) with Conforma's names, signatures
// and return shapes, so that policies written for Conforma compile and
// decide the same way under trustline.
//
// As in Conforma, a built-in that cannot answer (bad reference,
// unreachable registry, blob too large) makes its expression undefined
// instead of stopping the evaluation: the evaluator runs with non-strict
// built-in errors, so the error (which names the reference) is collected
// and reported while the other rules still decide. The sigstore
// built-ins never fail: their result carries success and errors.
//
// Registry calls go through remoteopt's options, are cached per
// evaluation (WithCache) and are bounded in time (WithCallTimeout) and in
// the bytes they read (WithMaxBlobSize, WithMaxImageSize).
package ecbuiltins

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/trustline-dev/trustline/internal/remoteopt"
)

// Defaults of the bounds.
const (
	// DefaultCallTimeout bounds one registry-backed call.
	DefaultCallTimeout = 2 * time.Minute
	// DefaultMaxBlobSize bounds a blob (ec.oci.blob, parsed_blob,
	// blob_files) and any one file read out of a tar stream: SBOMs of
	// large images reach tens of MiB, nothing a policy reads is larger.
	DefaultMaxBlobSize int64 = 128 << 20
	// DefaultMaxImageSize bounds the uncompressed bytes ec.oci.image_files
	// streams through, so a layer that decompresses without end stops.
	DefaultMaxImageSize int64 = 4 << 30
)

type options struct {
	remote       []remote.Option
	insecure     remoteopt.Insecure
	callTimeout  time.Duration
	maxBlobSize  int64
	maxImageSize int64
}

// Option configures New.
type Option func(*options)

// WithRemoteOptions are used for every registry call (default:
// remoteopt.Options with the call's context).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, opts...) }
}

// WithInsecure allows plain HTTP to any registry (default: loopback only).
func WithInsecure(b bool) Option { return func(o *options) { o.insecure = remoteopt.Insecure(b) } }

// WithCallTimeout bounds each registry-backed call (default
// DefaultCallTimeout; the evaluation's own deadline applies as well).
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// WithMaxBlobSize bounds a blob or an extracted file (default
// DefaultMaxBlobSize).
func WithMaxBlobSize(n int64) Option { return func(o *options) { o.maxBlobSize = n } }

// WithMaxImageSize bounds the uncompressed layer bytes image_files reads
// (default DefaultMaxImageSize).
func WithMaxImageSize(n int64) Option { return func(o *options) { o.maxImageSize = n } }

// Set is one configuration of the built-ins. It is safe for concurrent
// use; its state lives in the cache each evaluation carries.
type Set struct {
	o     options
	funcs []function
}

// function is one built-in: its declaration and one of the two shapes of
// implementation OPA takes.
type function struct {
	decl  *rego.Function
	impl1 rego.Builtin1
	impl2 rego.Builtin2
}

// New returns the built-ins configured by opts.
func New(opts ...Option) *Set {
	s := &Set{o: options{callTimeout: DefaultCallTimeout, maxBlobSize: DefaultMaxBlobSize, maxImageSize: DefaultMaxImageSize}}
	for _, opt := range opts {
		opt(&s.o)
	}
	s.funcs = append(s.funcs, s.ociFunctions()...)
	s.funcs = append(s.funcs, purlFunctions()...)
	s.funcs = append(s.funcs, s.sigstoreFunctions()...)
	return s
}

// Decls returns the declarations the compiler needs to type-check
// policies that call the built-ins (ast.Compiler.WithBuiltins).
func (s *Set) Decls() map[string]*ast.Builtin {
	out := make(map[string]*ast.Builtin, len(s.funcs))
	for _, f := range s.funcs {
		out[f.decl.Name] = &ast.Builtin{Name: f.decl.Name, Description: f.decl.Description, Decl: f.decl.Decl, Nondeterministic: f.decl.Nondeterministic}
	}
	return out
}

// RegoOptions returns the implementations, for rego.New.
func (s *Set) RegoOptions() []func(*rego.Rego) {
	out := make([]func(*rego.Rego), 0, len(s.funcs))
	for _, f := range s.funcs {
		if f.impl2 != nil {
			out = append(out, rego.Function2(f.decl, f.impl2))
		} else {
			out = append(out, rego.Function1(f.decl, f.impl1))
		}
	}
	return out
}

// Names returns the names of the built-ins.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.funcs))
	for _, f := range s.funcs {
		out = append(out, f.decl.Name)
	}
	return out
}

// remoteOptions returns the options of one registry call made under ctx.
func (s *Set) remoteOptions(ctx context.Context) []remote.Option {
	return append(remoteopt.Options(ctx), append(s.o.remote, remote.WithContext(ctx))...)
}

// callContext bounds one call in time.
func (s *Set) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.o.callTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.o.callTimeout)
}

// decl declares a memoized, non-deterministic function (it reads a
// registry), as Conforma declares its OCI and sigstore built-ins.
func decl(name, desc string, args []types.Type, result types.Type) *rego.Function {
	return &rego.Function{
		Name:             name,
		Description:      desc,
		Decl:             types.NewFunction(args, result),
		Memoize:          true,
		Nondeterministic: true,
	}
}

// refError names the reference in an error a policy author can act on.
// OPA prefixes a built-in's error with the built-in's name; a sigstore
// result's errors are read beside the call that made them.
func refError(ref string, err error) error {
	return fmt.Errorf("reference %q: %w", ref, err)
}

var errNotString = errors.New("the argument must be a string")
