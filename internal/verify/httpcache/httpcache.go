// Package httpcache is the registry transport of verify-policy: responses
// to content-addressed requests (manifests and blobs fetched by digest) are
// kept in a bounded in-memory LRU, so many images sharing a base layer,
// a config or a policy bundle fetch it once; and 429/503 answers are
// retried after the delay their Retry-After header asks for.
//
// Only GETs of .../manifests/sha256:... and .../blobs/sha256:... are cached:
// what a digest names cannot change, so there is nothing to invalidate.
// Tags (.sig, .att) are never cached.
package httpcache

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

type options struct {
	maxBytes   int64
	maxEntry   int64
	retries    int
	maxWait    time.Duration
	sleep      func(time.Duration)
	underlying http.RoundTripper
}

// Option configures New.
type Option func(*options)

// WithMaxBytes bounds the cache (default 8 MiB: enough for the blobs
// images of one snapshot share, small enough that memory stays flat as
// the number of images grows).
func WithMaxBytes(n int64) Option { return func(o *options) { o.maxBytes = n } }

// WithTransport sets the transport underneath (default
// http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.underlying = rt } }

// Transport is a caching, Retry-After-honouring http.RoundTripper.
type Transport struct {
	o       options
	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List
	size    int64
	hits    int64
	misses  int64
}

type entry struct {
	key    string
	status int
	header http.Header
	body   []byte
}

// New returns a Transport.
func New(opts ...Option) *Transport {
	o := options{maxBytes: 8 << 20, maxEntry: 4 << 20, retries: 3, maxWait: 30 * time.Second, sleep: time.Sleep, underlying: http.DefaultTransport}
	for _, opt := range opts {
		opt(&o)
	}
	return &Transport{o: o, entries: map[string]*list.Element{}, lru: list.New()}
}

// Stats returns cache hits and misses.
func (t *Transport) Stats() (hits, misses int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hits, t.misses
}

func cacheable(r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("Range") != "" {
		return false
	}
	p := r.URL.Path
	return strings.Contains(p, "/manifests/sha256:") || strings.Contains(p, "/blobs/sha256:")
}

func key(r *http.Request) string {
	// The Accept header changes what a manifest request may return only
	// for tags; by digest the content is fixed, but keep it in the key so
	// a Docker-v2-only client never sees an OCI answer it did not ask for.
	return r.URL.Host + r.URL.Path + "|" + r.Header.Get("Accept")
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if cacheable(r) {
		k := key(r)
		t.mu.Lock()
		if el, ok := t.entries[k]; ok {
			t.lru.MoveToFront(el)
			e := el.Value.(*entry)
			t.hits++
			t.mu.Unlock()
			return &http.Response{
				Status: http.StatusText(e.status), StatusCode: e.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body)), ContentLength: int64(len(e.body)), Request: r,
			}, nil
		}
		t.misses++
		t.mu.Unlock()
		resp, err := t.retrying(r)
		if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength < 0 || resp.ContentLength > t.o.maxEntry {
			return resp, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, t.o.maxEntry+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		t.add(&entry{key: k, status: resp.StatusCode, header: resp.Header.Clone(), body: body})
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	return t.retrying(r)
}

func (t *Transport) add(e *entry) {
	n := int64(len(e.body))
	if n > t.o.maxEntry || n > t.o.maxBytes {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[e.key]; ok {
		return
	}
	t.entries[e.key] = t.lru.PushFront(e)
	t.size += n
	for t.size > t.o.maxBytes {
		last := t.lru.Back()
		old := last.Value.(*entry)
		t.lru.Remove(last)
		delete(t.entries, old.key)
		t.size -= int64(len(old.body))
	}
}

// retrying sends r, and when the registry answers 429 or 503 with a
// Retry-After header, waits as asked (bounded) and tries again. Without
// the header the answer is returned for go-containerregistry's own
// exponential backoff to handle.
func (t *Transport) retrying(r *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.o.underlying.RoundTrip(r)
		if err != nil || attempt >= t.o.retries || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			return resp, err
		}
		wait, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok || (r.Body != nil && r.GetBody == nil) {
			return resp, nil
		}
		if wait > t.o.maxWait {
			wait = t.o.maxWait
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-time.After(wait):
		}
		if r.GetBody != nil {
			b, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			r = r.Clone(r.Context())
			r.Body = b
		}
	}
}

// RetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
