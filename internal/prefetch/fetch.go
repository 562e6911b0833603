package prefetch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// maxDownload bounds one file: a Go module zip may not exceed 500 MB, and
// nothing else the step fetches comes close.
const maxDownload = 1 << 30

// download is one file to fetch: where from, where to, and how to tell it
// is the file the lockfile pinned.
type download struct {
	// what names the package in messages ("golang.org/x/text v0.3.7").
	what string
	url  string
	// dest is the path inside the staging directory.
	dest string
	// cacheKey identifies the content by the checksum that pins it
	// ("sha512/<hex>", "h1/<hex>"), so that a cache hit needs no network.
	cacheKey string
	// verify checks the file at path against the pin.
	verify func(path string) error
	// after, when set, runs once the file is in place (to write files
	// that go beside it).
	after func() error
	// comp is the SBOM component the file is, if it is one.
	comp *component
}

// fetcher downloads files, checks them, and keeps them in a
// content-addressed cache when it has one.
type fetcher struct {
	client   *http.Client
	cacheDir string
	progress io.Writer
}

// ChecksumError is a downloaded file that does not match its pin.
type ChecksumError struct {
	What string
	URL  string
	Want string
	Got  string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: checksum mismatch for %s: the lockfile pins %s, the server sent %s", e.What, e.URL, e.Want, e.Got)
}

// fetch puts the verified file at d.dest and returns its SHA-256 (hex) and
// whether it came from the cache.
func (f *fetcher) fetch(ctx context.Context, d download) (sha string, cached bool, err error) {
	if err := os.MkdirAll(filepath.Dir(d.dest), 0o755); err != nil {
		return "", false, err
	}
	if f.cacheDir != "" && d.cacheKey != "" {
		cp := filepath.Join(f.cacheDir, filepath.FromSlash(d.cacheKey))
		if _, err := os.Stat(cp); err == nil {
			if err := linkOrCopy(cp, d.dest); err == nil {
				if err := d.verify(d.dest); err == nil {
					sha, err := fileSHA256(d.dest)
					return sha, true, err
				}
				// A damaged cache entry: drop it and download again.
				os.Remove(d.dest)
				os.Remove(cp)
			}
		}
	}
	tmp := d.dest + ".part"
	defer os.Remove(tmp)
	if err := f.get(ctx, d, tmp); err != nil {
		return "", false, err
	}
	if err := d.verify(tmp); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, d.dest); err != nil {
		return "", false, err
	}
	if f.cacheDir != "" && d.cacheKey != "" {
		// The cache is an optimisation: failing to fill it is not an error.
		cp := filepath.Join(f.cacheDir, filepath.FromSlash(d.cacheKey))
		if os.MkdirAll(filepath.Dir(cp), 0o755) == nil {
			ctmp := cp + ".part" + randomSuffix()
			if linkOrCopy(d.dest, ctmp) == nil {
				if os.Rename(ctmp, cp) != nil {
					os.Remove(ctmp)
				}
			}
		}
	}
	sha, err = fileSHA256(d.dest)
	return sha, false, err
}

func (f *fetcher) get(ctx context.Context, d download, dest string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", d.what, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: downloading %s: %w", d.what, d.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: downloading %s: %s", d.what, d.url, resp.Status)
	}
	out, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(resp.Body, maxDownload+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: downloading %s: %w", d.what, d.url, err)
	}
	if n > maxDownload {
		return fmt.Errorf("%s: %s is larger than %d bytes", d.what, d.url, maxDownload)
	}
	return nil
}

// getSmall fetches a small document (an index page) into memory.
func (f *fetcher) getSmall(ctx context.Context, what, url string, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", what, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s: %s", what, url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", what, url, err)
	}
	return b, nil
}

func fileSHA256(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// linkOrCopy makes dst a hard link to src, or a copy where links cannot
// cross filesystems.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	} else if errors.Is(err, os.ErrExist) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
