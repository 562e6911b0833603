package prefetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// fileServer serves files the test puts in it, on 127.0.0.1, and counts
// requests.
type fileServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	requests atomic.Int64
}

func newFileServer(t *testing.T) *fileServer {
	t.Helper()
	fs := &fileServer{files: map[string][]byte{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.requests.Add(1)
		fs.mu.Lock()
		b, ok := fs.files[r.URL.Path]
		fs.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fileServer) put(path string, b []byte) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[path] = b
	return fs.URL + path
}

// deadURL is an http URL on 127.0.0.1 where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// testModule is a module the test serves through the module proxy
// protocol.
type testModule struct {
	path, version string
	gomod         string
	files         map[string]string
	zipHash       string // h1:
	modHash       string // h1:
}

// serveModule builds mod's zip and serves .info, .mod and .zip.
func serveModule(t *testing.T, fs *fileServer, m *testModule) {
	t.Helper()
	dir := t.TempDir()
	if m.gomod == "" {
		m.gomod = "module " + m.path + "\n\ngo 1.21\n"
	}
	files := map[string]string{"go.mod": m.gomod}
	for k, v := range m.files {
		files[k] = v
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var zbuf bytes.Buffer
	mv := module.Version{Path: m.path, Version: m.version}
	if err := modzip.CreateFromDir(&zbuf, mv, dir); err != nil {
		t.Fatal(err)
	}
	zp := filepath.Join(t.TempDir(), "m.zip")
	os.WriteFile(zp, zbuf.Bytes(), 0o644)
	var err error
	if m.zipHash, err = dirhash.HashZip(zp, dirhash.Hash1); err != nil {
		t.Fatal(err)
	}
	if m.modHash, err = dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(m.gomod)), nil
	}); err != nil {
		t.Fatal(err)
	}
	ep, _ := module.EscapePath(m.path)
	ev, _ := module.EscapeVersion(m.version)
	base := "/" + ep + "/@v/" + ev
	fs.put(base+".info", []byte(fmt.Sprintf(`{"Version":%q}`, m.version)))
	fs.put(base+".mod", []byte(m.gomod))
	fs.put(base+".zip", zbuf.Bytes())
}

func (m *testModule) sumLines() string {
	return fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", m.path, m.version, m.zipHash, m.path, m.version, m.modHash)
}

// npmTarball is a package tarball as npm publishes it (package/…).
func npmTarball(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for fn, body := range map[string]string{
		"package/package.json": fmt.Sprintf(`{"name":%q,"version":%q,"main":"index.js"}`, name, version),
		"package/index.js":     fmt.Sprintf("module.exports = %q;\n", name+"@"+version),
	} {
		tw.WriteHeader(&tar.Header{Name: fn, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func sri512(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// assertEmpty checks that a failed run left nothing in the output.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("output %s is not empty after a failure: %v", dir, names)
	}
}
