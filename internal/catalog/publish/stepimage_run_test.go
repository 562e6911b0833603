package publish

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/build/buildtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// TestStepImagesRunAlone runs the build and sbom step images as a pod
// would: each image is built by StepImage from the real step binary,
// pushed to a registry on 127.0.0.1 and pulled back, its root extracted,
// and its binary run from that root (chroot, with /dev, /proc and /sys
// mounted and nothing else from the host) on real input: build builds a
// busybox-based image with a RUN and pushes it; sbom describes it.
func TestStepImagesRunAlone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("running step images needs root (chroot, mounts)")
	}
	bins := buildSteps(t, "build", "sbom")
	reg := testregistry.Start(t)
	base := reg + "/base/busybox:1"
	testregistry.Push(t, base, buildtest.Busybox(t))

	roots := map[string]string{}
	for _, step := range []string{"build", "sbom"} {
		img, err := StepImage(filepath.Join(bins, step), step, time.Unix(0, 0))
		must(t, err)
		ref, err := name.ParseReference(reg + "/trustline/step-" + step + ":test")
		must(t, err)
		must(t, remote.Write(ref, img))
		pulled, err := remote.Image(ref)
		must(t, err)
		roots[step] = extractRoot(t, pulled)
	}

	// build, from its image's root alone.
	root := roots["build"]
	for _, f := range []struct{ path, content string }{
		{"work/src/Containerfile", "FROM " + base + "\nRUN echo built in a step image > /proof\n"},
	} {
		must(t, os.MkdirAll(filepath.Join(root, filepath.Dir(f.path)), 0o755))
		must(t, os.WriteFile(filepath.Join(root, f.path), []byte(f.content), 0o644))
	}
	image := reg + "/app/from-step-image:v1"
	out := runInRoot(t, root, "/usr/local/bin/build", "--context", "/work/src", "--image", image, "--results-dir", "/work/results")
	digest, err := os.ReadFile(filepath.Join(root, "work/results/IMAGE_DIGEST"))
	if err != nil {
		t.Fatalf("build wrote no IMAGE_DIGEST: %v\n%s", err, out)
	}
	built, err := name.ParseReference(reg + "/app/from-step-image@" + string(digest))
	must(t, err)
	img, err := remote.Image(built)
	if err != nil {
		t.Fatalf("the image build reported is not in the registry: %v", err)
	}
	if got := fileIn(t, img, "proof"); got != "built in a step image\n" {
		t.Errorf("/proof in the built image = %q", got)
	}

	// sbom, from its image's root alone, of the image just built.
	root = roots["sbom"]
	must(t, os.MkdirAll(filepath.Join(root, "work"), 0o755))
	out = runInRoot(t, root, "/usr/local/bin/sbom", "--image", built.String(), "--output", "/work/sbom.json", "--results-dir", "/work/results")
	b, err := os.ReadFile(filepath.Join(root, "work/sbom.json"))
	if err != nil {
		t.Fatalf("sbom wrote no SBOM: %v\n%s", err, out)
	}
	var bom struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"component"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatalf("sbom output: %v\n%s", err, b)
	}
	if bom.BOMFormat != "CycloneDX" || !strings.Contains(string(b), string(digest)) {
		t.Errorf("the SBOM is not a CycloneDX document of %s: format %q, component %+v", digest, bom.BOMFormat, bom.Metadata.Component)
	}
}

// buildSteps builds the named step binaries into a temporary directory.
func buildSteps(t *testing.T, steps ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-trimpath", "-tags=containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper", "-o", dir + "/"}
	for _, s := range steps {
		args = append(args, "./steps/"+s)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return dir
}

// extractRoot writes an image's filesystem into a new directory, with the
// mount points a container runtime provides.
func extractRoot(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	// Registered after TempDir, so it runs before the directory is
	// removed: nothing may be mounted below it then (removing through a
	// bind mount of /dev would remove the host's devices).
	t.Cleanup(func() {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Error(err)
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root) {
				t.Errorf("%s is still mounted after the step ran", f[4])
			}
		}
	})
	eachEntry(t, img, func(h *tar.Header, tr io.Reader) bool {
		p := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			must(t, os.MkdirAll(p, 0o755))
			must(t, os.Chmod(p, h.FileInfo().Mode()))
		case tar.TypeReg:
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, h.FileInfo().Mode())
			must(t, err)
			_, err = io.Copy(f, tr)
			must(t, err)
			must(t, f.Close())
		case tar.TypeSymlink:
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.Symlink(h.Linkname, p))
		default:
			t.Fatalf("%s: unexpected tar entry type %c", h.Name, h.Typeflag)
		}
		return true
	})
	for _, d := range []string{"dev", "proc", "sys"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	return root
}

// runInRoot runs argv with root as /, as a pod runs a step: a private
// mount namespace with /dev, /proc and /sys mounted, the image's
// environment and nothing else. It fails the test unless argv exits 0.
func runInRoot(t *testing.T, root string, argv ...string) string {
	t.Helper()
	script := `set -e
r=$1; shift
# A container's root is a mount point (pivot_root); buildah relies on it.
mount --bind "$r" "$r"
mount --rbind /dev "$r/dev"
mount -t proc proc "$r/proc"
mount --rbind /sys "$r/sys"
exec chroot "$r" "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", root}, argv...)...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "HOME=/"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in its step image: %v\n%s", argv[0], err, out)
	}
	return string(out)
}

// fileIn returns the content of a file in an image's filesystem.
func fileIn(t *testing.T, img v1.Image, path string) string {
	t.Helper()
	var content string
	eachEntry(t, img, func(h *tar.Header, r io.Reader) bool {
		if strings.TrimPrefix(h.Name, "./") != path {
			return true
		}
		b, err := io.ReadAll(r)
		must(t, err)
		content = string(b)
		return false
	})
	return content
}

// eachEntry calls fn with every entry of the image's flattened filesystem
// until fn returns false.
func eachEntry(t *testing.T, img v1.Image, fn func(h *tar.Header, r io.Reader) bool) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		must(t, err)
		if !fn(h, tr) {
			return
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
