package build

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/trustline-dev/trustline/internal/build/buildtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

func TestMain(m *testing.M) { buildtest.Main(m) }

// fixture is shared by the subtests of one test: one registry, one
// storage, one base image, so that layers are pulled and stored once.
type fixture struct {
	reg     string
	storage Storage
	// busybox is the assembled base image: by tag and by digest.
	busyboxTag    string
	busyboxDigest string
	busyboxRef    string // repo@sha256:…
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the build tests build real images and need root (chroot isolation, mounts, network namespaces)")
	}
	dir := t.TempDir()
	f := &fixture{
		reg: testregistry.Start(t),
		storage: Storage{
			Driver:  DriverVFS,
			Root:    filepath.Join(dir, "root"),
			RunRoot: filepath.Join(dir, "run"),
		},
	}
	t.Cleanup(func() {
		if st, err := openStore(f.storage); err == nil {
			_, _ = st.Shutdown(true)
		}
	})
	f.busyboxTag = f.reg + "/base/busybox:1"
	d := testregistry.Push(t, f.busyboxTag, busyboxImage(t))
	f.busyboxDigest = d.DigestStr()
	f.busyboxRef = d.String()
	return f
}

// busyboxImage is the test base image: busybox-static and a few applets.
func busyboxImage(t *testing.T) v1.Image { return buildtest.Busybox(t) }

// staticBinary compiles a static Go program that prints msg.
func staticBinary(t *testing.T, msg string) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	must(t, os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println("+quote(msg)+") }\n"), 0o644))
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	must(t, err)
	return b
}

func quote(s string) string { return "\"" + strings.ReplaceAll(s, "\"", "\\\"") + "\"" }

// writeContext writes files (path → content) into a new directory.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "hello") {
			mode = 0o755
		}
		must(t, os.WriteFile(full, []byte(c), mode))
	}
	return dir
}

func (f *fixture) build(t *testing.T, image string, opts ...Option) (*Result, string, error) {
	t.Helper()
	var progress bytes.Buffer
	all := append([]Option{WithStorage(f.storage), WithProgress(&progress), WithTempDir(t.TempDir())}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tag, err := name.NewTag(image)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(ctx, tag, all...)
	return res, progress.String(), err
}

// remoteImage reads an image back from the registry.
func remoteImage(t *testing.T, ref string) (v1.Image, *v1.Manifest, v1.Hash) {
	t.Helper()
	r, err := name.ParseReference(ref)
	must(t, err)
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatalf("reading %s from the registry: %v", ref, err)
	}
	img, err := desc.Image()
	must(t, err)
	m, err := img.Manifest()
	must(t, err)
	return img, m, desc.Digest
}

type fileEntry struct {
	content string
	mode    int64
	modTime time.Time
}

// files flattens an image's layers into path → entry.
func files(t *testing.T, img v1.Image) map[string]fileEntry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]fileEntry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		b, err := io.ReadAll(tr)
		must(t, err)
		out[strings.TrimPrefix(h.Name, "/")] = fileEntry{content: string(b), mode: h.Mode, modTime: h.ModTime}
	}
}

// layerTimes returns the modification time of every entry in every layer
// (mutate.Extract keeps only the top-most copy of each path).
func layerTimes(t *testing.T, img v1.Image) map[string]time.Time {
	t.Helper()
	layers, err := img.Layers()
	must(t, err)
	out := map[string]time.Time{}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		must(t, err)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			must(t, err)
			out[fmt.Sprintf("layer %d: %s", i, h.Name)] = h.ModTime
		}
		rc.Close()
	}
	return out
}

// tagExists reports whether repo:tag is in the registry.
func tagExists(t *testing.T, ref string) bool {
	t.Helper()
	r, err := name.ParseReference(ref)
	must(t, err)
	_, err = remote.Head(r)
	if err == nil {
		return true
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return false
	}
	t.Fatalf("HEAD %s: %v", ref, err)
	return false
}

// serve starts an HTTP server on 127.0.0.1 that answers "pong".
func serve(t *testing.T) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "pong")
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/ping"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// describeDiff shows two images' manifests, configs and top-layer entries,
// to explain why two builds that should be identical are not.
func describeDiff(t *testing.T, a, b string) string {
	t.Helper()
	var out strings.Builder
	for _, ref := range []string{a, b} {
		img, _, _ := remoteImage(t, ref)
		m, _ := img.RawManifest()
		c, _ := img.RawConfigFile()
		fmt.Fprintf(&out, "== %s\nmanifest %s\nconfig %s\n", ref, m, c)
		layers, _ := img.Layers()
		for i, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				continue
			}
			tr := tar.NewReader(rc)
			for {
				h, err := tr.Next()
				if err != nil {
					break
				}
				fmt.Fprintf(&out, "layer %d: %s %c %o size=%d mtime=%s uid=%d gid=%d pax=%v\n", i, h.Name, h.Typeflag, h.Mode, h.Size, h.ModTime, h.Uid, h.Gid, h.PAXRecords)
			}
			rc.Close()
		}
	}
	return out.String()
}

// authRegistry starts a registry on 127.0.0.1 that answers only requests
// with HTTP basic credentials user:pass.
func authRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="trustline-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func pushWithAuth(t *testing.T, ref string, img v1.Image, user, pass string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	must(t, err)
	must(t, remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})))
}

// dockerConfig writes a docker config.json with the given registry →
// {user, password} entries and returns its directory (for DOCKER_CONFIG).
func dockerConfig(t *testing.T, creds map[string][2]string) string {
	t.Helper()
	auths := map[string]map[string]string{}
	for reg, up := range creds {
		auths[reg] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(up[0] + ":" + up[1]))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	must(t, err)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600))
	return dir
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	must(t, err)
	return r
}
