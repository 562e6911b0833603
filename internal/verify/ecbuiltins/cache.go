package ecbuiltins

import (
	"context"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// cache holds the answers of registry-backed calls for one evaluation.
// OPA's memoization covers one query evaluation only; trustline evaluates
// each policy source separately, and Conforma's rules call the same
// function on the same reference from many rules, so the cache is carried
// by the context and shared by every evaluation made under it.
type cache struct {
	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one call's answer; once makes concurrent callers of the same
// key wait for the first instead of each asking the registry.
type entry struct {
	once sync.Once
	term *ast.Term
	err  error
}

type cacheKey struct{}

// WithCache returns ctx carrying a fresh cache, unless ctx already carries
// one (so a caller can share one cache between the evaluations of an
// image's policy sources). Calls made without a cache are not cached.
func WithCache(ctx context.Context) context.Context {
	if _, ok := ctx.Value(cacheKey{}).(*cache); ok {
		return ctx
	}
	return context.WithValue(ctx, cacheKey{}, &cache{entries: map[string]*entry{}})
}

// cached returns the answer for key, computing it with fn once per cache.
// Failures are cached too: a rule asking again gets the same answer
// without another round of registry retries.
func cached(ctx context.Context, key string, fn func() (*ast.Term, error)) (*ast.Term, error) {
	c, ok := ctx.Value(cacheKey{}).(*cache)
	if !ok {
		return fn()
	}
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &entry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.term, e.err = fn() })
	return e.term, e.err
}
