// Package faulty is an HTTP proxy on 127.0.0.1 that stands between a step
// and a real registry and misbehaves on purpose: it answers 429 with
// Retry-After or 5xx, drops connections, answers slowly, changes a blob's
// bytes so they no longer match their digest, or truncates a manifest.
// Tests point a step at the proxy's host instead of the registry's and
// check that every fault ends in a bounded retry or a clear error, and that
// nothing is pushed for an image that was not fully read.
package faulty

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what the proxy does to one request a Rule matched. forward asks
// the registry and returns its whole answer.
type Fault func(w http.ResponseWriter, r *http.Request, forward func() (*http.Response, []byte, error))

// Rule applies a Fault to matching requests.
type Rule struct {
	// Method is the HTTP method to match ("" matches any).
	Method string
	// Path is a substring of the request path to match ("" matches any):
	// "/blobs/", "/manifests/", "/manifests/sha256-".
	Path string
	// Times is how many matching requests get the fault; 0 means all.
	Times int
	Fault Fault

	hits int
}

// Proxy forwards to a registry and applies rules in order; the first rule
// that matches (and has not used up Times) decides.
type Proxy struct {
	// Host is the proxy's host:port, to use in image references.
	Host     string
	upstream string

	mu    sync.Mutex
	rules []*Rule
	log   []Request
}

// Request is one request the proxy saw, with the status it answered (0
// for a dropped connection).
type Request struct {
	Method, Path string
	Status       int
	Faulted      bool
}

func (r Request) String() string { return fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status) }

// Start serves a proxy to upstream (host:port, plain HTTP) until the test
// ends.
func Start(t testing.TB, upstream string, rules ...*Rule) *Proxy {
	t.Helper()
	p := &Proxy{upstream: upstream, rules: rules}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// Set replaces the rules (and resets their counts).
func (p *Proxy) Set(rules ...*Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = rules
}

// Requests returns what the proxy has seen so far.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Writes returns the requests that change the registry (PUT, POST, PATCH,
// DELETE), to show that nothing was pushed.
func (p *Proxy) Writes() []Request {
	var out []Request
	for _, r := range p.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			out = append(out, r)
		}
	}
	return out
}

func (p *Proxy) pick(r *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if rule.Method != "" && rule.Method != r.Method {
			continue
		}
		if rule.Path != "" && !strings.Contains(r.URL.Path, rule.Path) {
			continue
		}
		if rule.Times > 0 && rule.hits >= rule.Times {
			continue
		}
		rule.hits++
		return rule
	}
	return nil
}

func (p *Proxy) record(r *http.Request, status int, faulted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, Request{Method: r.Method, Path: r.URL.Path, Status: status, Faulted: faulted})
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	forward := func() (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header = r.Header.Clone()
		req.ContentLength = int64(len(body))
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	rec := &statusRecorder{ResponseWriter: w}
	rule := p.pick(r)
	if rule != nil {
		rule.Fault(rec, r, forward)
	} else {
		Pass()(rec, r, forward)
	}
	p.record(r, rec.status, rule != nil)
}

// Pass forwards the request unchanged (the default).
func Pass() Fault {
	return func(w http.ResponseWriter, r *http.Request, forward func() (*http.Response, []byte, error)) {
		resp, b, err := forward()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		reply(w, resp, b)
	}
}

// Status answers code without asking the registry; retryAfter, if not
// empty, is sent as the Retry-After header (seconds or an HTTP date).
func Status(code int, retryAfter string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ func() (*http.Response, []byte, error)) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected %d"}]}`, code)
	}
}

// Drop closes the connection without an answer.
func Drop() Fault {
	return func(w http.ResponseWriter, r *http.Request, _ func() (*http.Response, []byte, error)) {
		hijackClose(w)
	}
}

// DropAfter forwards the request, sends the status, headers (with the full
// Content-Length) and the first n bytes of the body, then closes the
// connection: a transfer cut in the middle.
func DropAfter(n int) Fault {
	return func(w http.ResponseWriter, r *http.Request, forward func() (*http.Response, []byte, error)) {
		resp, b, err := forward()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		copyHeader(w, resp)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(resp.StatusCode)
		w.Write(b[:min(n, len(b))]) //nolint:errcheck // the connection is cut next anyway
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		hijackClose(w)
	}
}

// Slow waits d before forwarding the request unchanged.
func Slow(d time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, forward func() (*http.Response, []byte, error)) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		Pass()(w, r, forward)
	}
}

// Rewrite forwards the request and passes the body of a successful answer
// through edit: a blob or manifest whose bytes no longer match the digest
// they were asked for. Content-Length follows the new body.
func Rewrite(edit func([]byte) []byte) Fault {
	return func(w http.ResponseWriter, r *http.Request, forward func() (*http.Response, []byte, error)) {
		resp, b, err := forward()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if resp.StatusCode == http.StatusOK && r.Method == http.MethodGet {
			b = edit(bytes.Clone(b))
		}
		reply(w, resp, b)
	}
}

// Truncate answers with only the first n bytes of the body and a matching
// Content-Length: a transfer that looks complete but is not.
func Truncate(n int) Fault {
	return Rewrite(func(b []byte) []byte { return b[:min(n, len(b))] })
}

func reply(w http.ResponseWriter, resp *http.Response, b []byte) {
	copyHeader(w, resp)
	if resp.Request == nil || resp.Request.Method != http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(b) //nolint:errcheck // the client went away
}

func copyHeader(w http.ResponseWriter, resp *http.Response) {
	for k, vs := range resp.Header {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead && resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
}

func hijackClose(w http.ResponseWriter) {
	for {
		if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
			w = u.Unwrap()
			continue
		}
		break
	}
	if h, ok := w.(http.Hijacker); ok {
		if conn, _, err := h.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
