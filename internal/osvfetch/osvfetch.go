// Package osvfetch downloads osv.dev's per-ecosystem database exports
// (<base>/<Ecosystem>/all.zip) into the layout the scan step reads,
// <dir>/<Ecosystem>/all.zip. Each download is checked before it replaces
// what was there: the byte count against Content-Length, the checksums the
// server sends (x-goog-hash crc32c and md5, Content-MD5, Repr-Digest or
// Digest sha-256), and the content itself (a readable zip of OSV JSON
// records). A failed download leaves the old database intact.
package osvfetch

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/trustline-dev/trustline/internal/osvexport"
	"github.com/trustline-dev/trustline/internal/outfile"
)

// DefaultBaseURL is osv.dev's public export bucket.
const DefaultBaseURL = "https://osv-vulnerabilities.storage.googleapis.com"

// DefaultEcosystems are the language ecosystems the scan step matches
// packages of. Distribution ecosystems (Debian, Alpine, AlmaLinux, …) are
// large and per release: name them explicitly.
var DefaultEcosystems = []string{"Go", "npm", "PyPI", "Maven", "crates.io", "RubyGems", "NuGet", "Packagist"}

// ErrChecksum is wrapped when a download does not match a checksum the
// server sent.
var ErrChecksum = errors.New("checksum mismatch")

// Progress is one report on a download in flight.
type Progress struct {
	Ecosystem string
	Done      int64 // bytes received
	Total     int64 // Content-Length, or -1 when the server sent none
}

// Result describes one export written.
type Result struct {
	Ecosystem string
	Path      string // <dir>/<Ecosystem>/all.zip
	URL       string
	Size      int64
	SHA256    string   // hex, of the file written
	Verified  []string // the server's checksums it matched: "crc32c", "md5", "sha-256"
	Records   int
}

type options struct {
	base     *url.URL
	client   *http.Client
	progress func(Progress)
	every    time.Duration
	maxSize  int64
}

// Option configures Fetch.
type Option func(*options) error

// WithBaseURL sets where the exports are, <base>/<Ecosystem>/all.zip. The
// default is DefaultBaseURL.
func WithBaseURL(base string) Option {
	return func(o *options) error {
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("base URL %q: %w", base, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("base URL %q: want http(s)://host[/path]", base)
		}
		o.base = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client. The default is a client with
// http.DefaultTransport's proxy and TLS settings and no overall timeout
// (the largest exports take minutes), which gives up when no response
// header arrives within a minute.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		o.client = c
		return nil
	}
}

// WithProgress has fn called while a download runs, at most every interval
// and once when it ends. The default reports nothing.
func WithProgress(fn func(Progress), interval time.Duration) Option {
	return func(o *options) error {
		o.progress, o.every = fn, interval
		return nil
	}
}

// WithMaxSize sets the largest export accepted, in bytes. The default is
// 8 GiB.
func WithMaxSize(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("max size %d: want a positive number of bytes", n)
		}
		o.maxSize = n
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{maxSize: 8 << 30, progress: func(Progress) {}}
	if err := WithBaseURL(DefaultBaseURL)(o); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		o.client = &http.Client{Transport: t}
	}
	return o, nil
}

// Fetch downloads the export of each ecosystem into dir, one after another,
// and stops at the first that fails (the ones before it are written, the
// failed one's old file is left as it was).
func Fetch(ctx context.Context, dir string, ecosystems []string, opts ...Option) ([]Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(ecosystems) == 0 {
		return nil, errors.New("no ecosystem to fetch")
	}
	for _, e := range ecosystems {
		if err := checkEcosystem(e); err != nil {
			return nil, err
		}
	}
	var out []Result
	for _, e := range ecosystems {
		r, err := o.fetch(ctx, dir, e)
		if err != nil {
			return out, fmt.Errorf("%s: %w", e, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// checkEcosystem keeps an ecosystem name to one path element.
func checkEcosystem(e string) error {
	if e == "" || e == "." || e == ".." || strings.ContainsAny(e, `/\`) || strings.ContainsRune(e, 0) {
		return fmt.Errorf("ecosystem %q: want a name such as Go, npm or Debian:12", e)
	}
	return nil
}

func (o *options) fetch(ctx context.Context, dir, eco string) (Result, error) {
	u := o.base.JoinPath(eco, "all.zip")
	res := Result{Ecosystem: eco, Path: filepath.Join(dir, eco, "all.zip"), URL: u.String()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return res, err
	}
	// The bytes as stored, so that Content-Length and the server's
	// checksums describe what is read.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := o.client.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return res, fmt.Errorf("GET %s: 404 Not Found: no export for ecosystem %q there (names are case-sensitive, as osv.dev spells them)", u, eco)
	case resp.StatusCode != http.StatusOK:
		return res, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return res, fmt.Errorf("GET %s: the server sent Content-Encoding %q after being asked for the bytes as stored", u, ce)
	}
	total := resp.ContentLength
	if total > o.maxSize {
		return res, fmt.Errorf("GET %s: Content-Length %d is more than the %d bytes allowed", u, total, o.maxSize)
	}
	want, err := serverChecksums(resp.Header)
	if err != nil {
		return res, fmt.Errorf("GET %s: %w", u, err)
	}

	sums := map[string]hash.Hash{
		"crc32c":  crc32.New(crc32.MakeTable(crc32.Castagnoli)),
		"md5":     md5.New(),
		"sha-256": sha256.New(),
	}
	write := func(w io.Writer) error {
		body := &counter{r: io.LimitReader(resp.Body, o.maxSize+1), every: o.every, report: func(n int64) {
			o.progress(Progress{Ecosystem: eco, Done: n, Total: total})
		}}
		n, err := io.Copy(io.MultiWriter(w, sums["crc32c"], sums["md5"], sums["sha-256"]), body)
		o.progress(Progress{Ecosystem: eco, Done: n, Total: total})
		res.Size = n
		switch {
		case err != nil:
			return fmt.Errorf("GET %s: after %d bytes: %w", u, n, err)
		case n > o.maxSize:
			return fmt.Errorf("GET %s: more than the %d bytes allowed", u, o.maxSize)
		case total >= 0 && n != total:
			return fmt.Errorf("GET %s: %d bytes received, Content-Length said %d", u, n, total)
		}
		for name, w := range want {
			if got := sums[name].Sum(nil); string(got) != string(w) {
				return fmt.Errorf("GET %s: %w: %s %s, the server said %s", u, ErrChecksum, name,
					base64.StdEncoding.EncodeToString(got), base64.StdEncoding.EncodeToString(w))
			}
			res.Verified = append(res.Verified, name)
		}
		return nil
	}
	check := func(r io.ReaderAt, size int64) error {
		st, err := osvexport.Validate(r, size)
		if err != nil {
			return fmt.Errorf("GET %s: %w", u, err)
		}
		res.Records = st.Records
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(res.Path), 0o755); err != nil {
		return res, err
	}
	if err := outfile.WriteFunc(res.Path, write, outfile.WithCheck(check)); err != nil {
		return res, err
	}
	sort.Strings(res.Verified)
	res.SHA256 = hex.EncodeToString(sums["sha-256"].Sum(nil))
	return res, nil
}

// serverChecksums collects the checksums a response carries, by the names
// Fetch computes: Google Cloud Storage's x-goog-hash (crc32c=…, md5=…),
// Content-MD5, and RFC 9530's Repr-Digest or RFC 3230's Digest (sha-256).
// A malformed value is an error: a server that sends a checksum means it.
func serverChecksums(h http.Header) (map[string][]byte, error) {
	want := map[string][]byte{}
	add := func(name, header, b64 string, size int) error {
		b, err := base64.StdEncoding.DecodeString(strings.Trim(strings.TrimSpace(b64), ":"))
		if err != nil || len(b) != size {
			return fmt.Errorf("malformed %s checksum in %s: %q", name, header, b64)
		}
		want[name] = b
		return nil
	}
	for _, v := range h.Values("X-Goog-Hash") {
		for _, kv := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
			var err error
			switch strings.ToLower(k) {
			case "crc32c":
				err = add("crc32c", "x-goog-hash", val, 4)
			case "md5":
				err = add("md5", "x-goog-hash", val, md5.Size)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if v := h.Get("Content-MD5"); v != "" {
		if err := add("md5", "Content-MD5", v, md5.Size); err != nil {
			return nil, err
		}
	}
	for _, header := range []string{"Repr-Digest", "Digest"} {
		for _, v := range h.Values(header) {
			for _, kv := range strings.Split(v, ",") {
				k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
				if strings.EqualFold(k, "sha-256") {
					if err := add("sha-256", header, val, sha256.Size); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return want, nil
}

// counter counts what is read and reports it at most every interval.
type counter struct {
	r      io.Reader
	n      int64
	every  time.Duration
	last   time.Time
	report func(int64)
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.every > 0 && time.Since(c.last) >= c.every {
		c.last = time.Now()
		c.report(c.n)
	}
	return n, err
}
