package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCachesByDigestOnly(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, "body of "+r.URL.Path)
	}))
	defer srv.Close()
	c := &http.Client{Transport: New(WithMaxBytes(1 << 20))}
	get := func(p string) string {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for i := 0; i < 3; i++ {
		if got := get("/v2/r/blobs/sha256:aa"); got != "body of /v2/r/blobs/sha256:aa" {
			t.Fatalf("got %q", got)
		}
		get("/v2/r/manifests/sha256-aa.sig")
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("server saw %d requests, want 1 for the blob + 3 for the tag", n)
	}
	hits, misses := c.Transport.(*Transport).Stats()
	if hits != 2 || misses != 1 {
		t.Errorf("hits=%d misses=%d", hits, misses)
	}
}

func TestEvictsBeyondBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	tr := New(WithMaxBytes(250))
	c := &http.Client{Transport: tr}
	for _, d := range []string{"a", "b", "c", "d"} {
		resp, _ := c.Get(srv.URL + "/v2/r/blobs/sha256:" + d)
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if tr.size > 250 || tr.lru.Len() != 2 {
		t.Errorf("size %d, entries %d", tr.size, tr.lru.Len())
	}
}

func TestHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c := &http.Client{Transport: New()}
	start := time.Now()
	resp, err := c.Get(srv.URL + "/v2/r/manifests/latest")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || calls.Load() != 3 {
		t.Errorf("status %d after %d calls", resp.StatusCode, calls.Load())
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Errorf("retried after %s, Retry-After asked for 1s twice", waited)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"3": 3 * time.Second, "Thu, 01 Jan 2026 00:00:10 GMT": 10 * time.Second, "Wed, 31 Dec 2025 00:00:00 GMT": 0} {
		got, ok := RetryAfter(in, now)
		if !ok || got != want {
			t.Errorf("RetryAfter(%q) = %s %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "-1", "soon"} {
		if _, ok := RetryAfter(bad, now); ok {
			t.Errorf("RetryAfter(%q) accepted", bad)
		}
	}
}
