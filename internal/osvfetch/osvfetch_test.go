package osvfetch

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func exportZip(t *testing.T, eco string, ids ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, id := range ids {
		w, err := zw.Create(id + ".json")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, `{"id":%q,"modified":"2026-08-21T00:00:00Z","affected":[{"package":{"ecosystem":%q,"name":"pkg-%s"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}]}`, id, eco, id)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bucket serves <Ecosystem>/all.zip like osv.dev's export bucket, with its
// x-goog-hash header, on 127.0.0.1. tamper may change a response.
type bucket struct {
	mu      sync.Mutex
	objects map[string][]byte
	tamper  func(w http.ResponseWriter, body []byte) (handled bool)
	gets    int
}

func (b *bucket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	body, ok := b.objects[strings.TrimPrefix(r.URL.Path, "/")]
	tamper := b.tamper
	b.gets++
	b.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	c := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
	var cb [4]byte
	binary.BigEndian.PutUint32(cb[:], c)
	m := md5.Sum(body)
	w.Header().Set("x-goog-hash", "crc32c="+base64.StdEncoding.EncodeToString(cb[:]))
	w.Header().Add("x-goog-hash", "md5="+base64.StdEncoding.EncodeToString(m[:]))
	w.Header().Set("Content-Type", "application/zip")
	if tamper != nil && tamper(w, body) {
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func newBucket(t *testing.T, objects map[string][]byte) (*bucket, string) {
	b := &bucket{objects: objects}
	srv := httptest.NewServer(b) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return b, srv.URL
}

func TestFetch(t *testing.T) {
	goZip, cratesZip := exportZip(t, "Go", "GO-1", "GO-2"), exportZip(t, "crates.io", "RUSTSEC-1")
	_, url := newBucket(t, map[string][]byte{"Go/all.zip": goZip, "crates.io/all.zip": cratesZip})
	dir := t.TempDir()
	var progress []Progress
	res, err := Fetch(context.Background(), dir, []string{"Go", "crates.io"}, WithBaseURL(url),
		WithProgress(func(p Progress) { progress = append(progress, p) }, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results", len(res))
	}
	for i, want := range [][]byte{goZip, cratesZip} {
		r := res[i]
		got, err := os.ReadFile(filepath.Join(dir, r.Ecosystem, "all.zip"))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: file differs from what the server has (%v)", r.Ecosystem, err)
		}
		sum := sha256.Sum256(want)
		if r.SHA256 != hex.EncodeToString(sum[:]) || r.Size != int64(len(want)) {
			t.Errorf("%s: result %+v", r.Ecosystem, r)
		}
		if strings.Join(r.Verified, ",") != "crc32c,md5" {
			t.Errorf("%s: verified %v, want crc32c and md5", r.Ecosystem, r.Verified)
		}
	}
	if res[0].Records != 2 || res[1].Records != 1 {
		t.Errorf("records %d, %d", res[0].Records, res[1].Records)
	}
	last := progress[len(progress)-1]
	if last.Ecosystem != "crates.io" || last.Done != int64(len(cratesZip)) || last.Total != int64(len(cratesZip)) {
		t.Errorf("last progress %+v", last)
	}
}

// Every way a download can go wrong leaves the old database intact, with
// no temporary file beside it.
func TestFailedFetchKeepsOldDatabase(t *testing.T) {
	good := exportZip(t, "Go", "GO-NEW")
	cases := map[string]struct {
		object []byte
		tamper func(w http.ResponseWriter, body []byte) bool
		want   string
	}{
		"404": {want: "404"},
		"server error": {object: good, want: "503", tamper: func(w http.ResponseWriter, _ []byte) bool {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}},
		"not a zip": {object: []byte("<html>sign in</html>"), want: "not an OSV export"},
		"zip of other json": {object: func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, _ := zw.Create("package.json")
			w.Write([]byte(`{"name":"left-pad"}`))
			zw.Close()
			return buf.Bytes()
		}(), want: "no id"},
		"md5 mismatch": {object: good, want: "checksum mismatch: md5", tamper: func(w http.ResponseWriter, body []byte) bool {
			w.Header().Del("x-goog-hash")
			w.Header().Set("x-goog-hash", "md5="+base64.StdEncoding.EncodeToString(make([]byte, 16)))
			return false
		}},
		"crc32c mismatch": {object: good, want: "checksum mismatch: crc32c", tamper: func(w http.ResponseWriter, body []byte) bool {
			w.Header().Set("x-goog-hash", "crc32c=AAAAAA==")
			return false
		}},
		"sha-256 mismatch": {object: good, want: "checksum mismatch: sha-256", tamper: func(w http.ResponseWriter, body []byte) bool {
			w.Header().Del("x-goog-hash")
			w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(make([]byte, 32))+":")
			return false
		}},
		"malformed checksum": {object: good, want: "malformed md5", tamper: func(w http.ResponseWriter, body []byte) bool {
			w.Header().Set("Content-MD5", "not base64!")
			return false
		}},
		"short body": {object: good, want: "unexpected EOF", tamper: func(w http.ResponseWriter, body []byte) bool {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:len(body)/2]) // the server closes the connection
			return true
		}},
		"gzip transcoding": {object: good, want: "Content-Encoding", tamper: func(w http.ResponseWriter, body []byte) bool {
			w.Header().Set("Content-Encoding", "gzip")
			return false
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			objects := map[string][]byte{}
			if tc.object != nil {
				objects["Go/all.zip"] = tc.object
			}
			b, url := newBucket(t, objects)
			b.tamper = tc.tamper
			dir := t.TempDir()
			old := exportZip(t, "Go", "GO-OLD")
			if err := os.MkdirAll(filepath.Join(dir, "Go"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "Go", "all.zip"), old, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Fetch(context.Background(), dir, []string{"Go"}, WithBaseURL(url))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "Go", "all.zip")); !bytes.Equal(got, old) {
				t.Fatal("the old database was replaced")
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "Go"))
			if len(entries) != 1 {
				t.Fatalf("left behind in %s: %v", filepath.Join(dir, "Go"), entries)
			}
		})
	}
}

func TestMaxSize(t *testing.T) {
	body := exportZip(t, "Go", "GO-1", "GO-2", "GO-3")
	b, url := newBucket(t, map[string][]byte{"Go/all.zip": body})
	dir := t.TempDir()
	_, err := Fetch(context.Background(), dir, []string{"Go"}, WithBaseURL(url), WithMaxSize(100))
	if err == nil || !strings.Contains(err.Error(), "Content-Length") {
		t.Fatalf("error %v, want the Content-Length refused", err)
	}
	// Without a Content-Length the limit still holds while reading.
	b.tamper = func(w http.ResponseWriter, body []byte) bool {
		w.Header().Set("Transfer-Encoding", "chunked")
		w.Write(body[:50])
		w.(http.Flusher).Flush()
		w.Write(body[50:])
		return true
	}
	_, err = Fetch(context.Background(), dir, []string{"Go"}, WithBaseURL(url), WithMaxSize(100))
	if err == nil || !strings.Contains(err.Error(), "more than the 100 bytes") {
		t.Fatalf("error %v, want the size limit", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Go", "all.zip")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused download left a file: %v", err)
	}
}

func TestBadEcosystemNames(t *testing.T) {
	b, url := newBucket(t, nil)
	for _, e := range []string{"", "..", "../etc", "Go/x", `a\b`} {
		if _, err := Fetch(context.Background(), t.TempDir(), []string{"Go", e}, WithBaseURL(url)); err == nil {
			t.Errorf("ecosystem %q accepted", e)
		}
	}
	if b.gets != 0 {
		t.Fatalf("%d requests made before the names were checked", b.gets)
	}
	if _, err := Fetch(context.Background(), t.TempDir(), []string{"Go"}, WithBaseURL("ftp://x")); err == nil {
		t.Fatal("an ftp base URL was accepted")
	}
}
