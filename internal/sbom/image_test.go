package sbom

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one tar entry of a crafted layer.
type entry struct {
	name     string
	body     string
	typ      byte // 0 = regular file
	linkname string
	mode     int64
	size     int64 // for headers whose size differs from body (never for real files)
}

func tarBytes(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.linkname, Mode: e.mode, ModTime: time.Unix(0, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerOf(t testing.TB, entries []entry) v1.Layer {
	t.Helper()
	b := tarBytes(t, entries)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t testing.TB, arch string, annotations map[string]string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Labels = map[string]string{AnnotationVendor: "Example Corp"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	if annotations != nil {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	return img
}

const osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

const statusBase = `Package: base-files
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 340
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries
`

const statusApp = statusBase + `
Package: curl
Status: install ok installed
Priority: optional
Section: web
Installed-Size: 500
Maintainer: Alessandro Ghedini <ghedo@debian.org>
Architecture: amd64
Version: 7.88.1-10+deb12u5
Depends: libc6 (>= 2.34)
Description: command line tool for transferring data with URL syntax
`

func copyright(license string) string {
	return "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: someone\nLicense: " + license + "\n"
}

// baseLayer is a small Debian-like root file system.
func baseLayer(t testing.TB) v1.Layer {
	return layerOf(t, []entry{
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/lib/os-release", body: osRelease},
		{name: "etc/os-release", typ: tar.TypeSymlink, linkname: "../usr/lib/os-release"},
		{name: "var/lib/dpkg/status", body: statusBase},
		{name: "usr/share/doc/libc6/copyright", body: copyright("LGPL-2.1")},
		{name: "usr/share/doc/base-files/copyright", body: copyright("GPL-2")},
	})
}

var (
	gobinOnce sync.Once
	gobin     []byte
	gobinErr  error
)

// goBinary builds testdata/gobin, a program with one module dependency.
func goBinary(t testing.TB) []byte {
	t.Helper()
	gobinOnce.Do(func() {
		out := filepath.Join(os.TempDir(), "trustline-sbom-gobin-test")
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/gobin")
		cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			gobinErr = err
			t.Logf("%s", b)
			return
		}
		gobin, gobinErr = os.ReadFile(out)
		os.Remove(out)
	})
	if gobinErr != nil {
		t.Fatalf("building testdata/gobin: %v", gobinErr)
	}
	return gobin
}

// appLayer installs curl (rewriting dpkg's status), a Go binary, npm and
// Python packages.
func appLayer(t testing.TB) v1.Layer {
	return layerOf(t, []entry{
		{name: "var/lib/dpkg/status", body: statusApp},
		{name: "usr/share/doc/curl/copyright", body: copyright("curl")},
		{name: "usr/local/bin/app", body: string(goBinary(t)), mode: 0o755},
		{name: "app/node_modules/left-pad/package.json", body: `{"name":"left-pad","version":"1.3.0","license":"WTFPL","author":"azer"}`},
		{name: "app/node_modules/is-odd/package.json", body: `{"name":"is-odd","version":"3.0.1","license":"MIT"}`},
		{name: "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
			body: "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: HTTP for Humans.\nAuthor: Kenneth Reitz\nLicense: Apache 2.0\n"},
	})
}

// cleanupLayer deletes one npm package, as `npm uninstall` in a later
// Dockerfile step would.
func cleanupLayer(t testing.TB) v1.Layer {
	return layerOf(t, []entry{
		{name: "app/node_modules/.wh.is-odd"},
	})
}

var baseAnnotations = map[string]string{
	AnnotationBaseName:   "docker.io/library/debian:12",
	AnnotationBaseDigest: "sha256:b2a2e2f5f1c1f8c6e1b1f0f8e2a6c1d4b3a2e1f0d9c8b7a6e5f4d3c2b1a0f9e8",
}
