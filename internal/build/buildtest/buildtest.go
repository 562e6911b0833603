// Package buildtest holds what the build step's tests in more than one
// package need: a TestMain that lets buildah re-execute the test binary,
// and a small real base image with a shell.
package buildtest

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.podman.io/buildah"

	"github.com/trustline-dev/trustline/internal/testimage"
)

// Main is TestMain for a package whose tests build images: buildah's
// chroot isolation and the hermetic build re-execute the test binary, and
// the child must run its job and never reach m.Run.
func Main(m *testing.M) {
	if buildah.InitReexec() {
		return
	}
	os.Exit(m.Run())
}

// BusyboxApplets are linked to /bin/busybox in the Busybox image.
var BusyboxApplets = []string{"sh", "cat", "echo", "wget", "true", "false", "ls", "mkdir", "sleep", "test", "httpd", "kill"}

// Busybox assembles a one-layer base image from Debian's busybox-static:
// /bin/busybox and the BusyboxApplets links, /etc and /tmp.
func Busybox(t testing.TB) v1.Image {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("the build tests need a static busybox at /bin/busybox (apt-get install -y busybox-static): %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range []string{"bin/", "etc/", "tmp/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: epoch}))
	}
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin)), ModTime: epoch}))
	_, err = tw.Write(bin)
	must(t, err)
	for _, a := range BusyboxApplets {
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: epoch}))
	}
	must(t, tw.Close())
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	must(t, err)
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	must(t, err)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return testimage.EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", runtime.GOARCH
		cf.Config.Env = []string{"PATH=/bin"}
		cf.Config.Cmd = []string{"sh"}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
