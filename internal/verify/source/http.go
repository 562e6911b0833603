package source

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// DownloadTimeout bounds one https download, and the listing and fetch
// of one git source.
const DownloadTimeout = 5 * time.Minute

func (r *Resolver) httpClient() *http.Client {
	c := r.o.client
	if c == nil {
		c = &http.Client{Timeout: DownloadTimeout}
	}
	cp := *c
	next := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" && !(req.URL.Scheme == "http" && loopback(req.URL.Hostname())) {
			return fmt.Errorf("redirect to %s: only https is followed", req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
		}
		return nil
	}
	return &cp
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// download fetches an https file, caches it by the SHA-256 of its bytes and
// unpacks archives (.tar, .tar.gz, .tgz, .zip); any other file is kept
// under its own name.
func (r *Resolver) download(ctx context.Context, location, rawURL string) (*Resolved, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("policy location %q: "+format, append([]any{location}, a...)...)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fail("%w", err)
	}
	resp, err := r.httpClient().Do(req)
	if err != nil {
		return nil, fail("%w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fail("%s", resp.Status)
	}
	tmp, err := r.tempEntry()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	raw := filepath.Join(tmp, "download")
	f, err := os.Create(raw)
	if err != nil {
		return nil, fmt.Errorf("policy cache: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, MaxArtifactSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fail("downloading: %w", err)
	}
	if n > MaxArtifactSize {
		return nil, fail("more than %d bytes", MaxArtifactSize)
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	dir := filepath.Join(r.o.cacheDir, "http-"+strings.ReplaceAll(digest, ":", "-"))
	resolved := &Resolved{Location: location, Path: filepath.Join(dir, "content"), Digest: digest}
	if cached(dir) {
		return resolved, nil
	}
	content := filepath.Join(tmp, "content")
	if err := os.MkdirAll(content, 0o755); err != nil {
		return nil, fmt.Errorf("policy cache: %w", err)
	}
	u, _ := url.Parse(rawURL)
	base := path.Base(u.Path)
	if err := unpackFile(raw, base, content); err != nil {
		return nil, fail("%s: %w", base, err)
	}
	if err := os.Remove(raw); err != nil {
		return nil, fmt.Errorf("policy cache: %w", err)
	}
	if err := commit(tmp, dir, digest); err != nil {
		return nil, err
	}
	return resolved, nil
}

// unpackFile writes the downloaded file at raw, named base, into root:
// archives unpacked, anything else as root/base.
func unpackFile(raw, base, root string) error {
	budget := int64(MaxArtifactSize)
	lower := strings.ToLower(base)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		return unzip(raw, root, &budget)
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"), strings.HasSuffix(lower, ".tar"):
		f, err := os.Open(raw)
		if err != nil {
			return err
		}
		defer f.Close()
		mt := "application/x-tar"
		if !strings.HasSuffix(lower, ".tar") {
			mt += "+gzip"
		}
		return unpackLayer(f, mt, "", root, &budget)
	}
	f, err := os.Open(raw)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFile(root, base, f, &budget)
}

func unzip(raw, root string, budget *int64) error {
	zr, err := zip.OpenReader(raw)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if !zf.Mode().IsRegular() {
			continue // directories are made as needed; links are refused by omission
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", zf.Name, err)
		}
		err = writeFile(root, zf.Name, rc, budget)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", zf.Name, err)
		}
	}
	return nil
}
