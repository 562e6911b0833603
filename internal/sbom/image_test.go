package sbom

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/trustline-dev/trustline/internal/testimage"
)

// imageOf is sbomtest's image with the vendor label the SBOM's supplier
// falls back to.
func imageOf(t testing.TB, arch string, annotations map[string]string, layers ...v1.Layer) v1.Image {
	t.Helper()
	return testimage.LabeledImage(t, arch, map[string]string{AnnotationVendor: "Example Corp"}, annotations, layers...)
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
	return testimage.Layer(t, []testimage.File{
		{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "usr/lib/os-release", Body: osRelease},
		{Name: "etc/os-release", Type: tar.TypeSymlink, Linkname: "../usr/lib/os-release"},
		{Name: "var/lib/dpkg/status", Body: statusBase},
		{Name: "usr/share/doc/libc6/copyright", Body: copyright("LGPL-2.1")},
		{Name: "usr/share/doc/base-files/copyright", Body: copyright("GPL-2")},
	}...)
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
	return testimage.Layer(t, []testimage.File{
		{Name: "var/lib/dpkg/status", Body: statusApp},
		{Name: "usr/share/doc/curl/copyright", Body: copyright("curl")},
		{Name: "usr/local/bin/app", Body: string(goBinary(t)), Mode: 0o755},
		{Name: "app/node_modules/left-pad/package.json", Body: `{"name":"left-pad","version":"1.3.0","license":"WTFPL","author":"azer"}`},
		{Name: "app/node_modules/is-odd/package.json", Body: `{"name":"is-odd","version":"3.0.1","license":"MIT"}`},
		{Name: "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
			Body: "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: HTTP for Humans.\nAuthor: Kenneth Reitz\nLicense: Apache 2.0\n"},
	}...)
}

// cleanupLayer deletes one npm package, as `npm uninstall` in a later
// Dockerfile step would.
func cleanupLayer(t testing.TB) v1.Layer {
	return testimage.Layer(t, []testimage.File{
		{Name: "app/node_modules/.wh.is-odd"},
	}...)
}

var baseAnnotations = map[string]string{
	AnnotationBaseName:   "docker.io/library/debian:12",
	AnnotationBaseDigest: "sha256:b2a2e2f5f1c1f8c6e1b1f0f8e2a6c1d4b3a2e1f0d9c8b7a6e5f4d3c2b1a0f9e8",
}
