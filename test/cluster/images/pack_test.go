// Package images packs the images the cluster test (scripts/cluster) runs,
// with the step images' own builder (publish.BinaryImage): Tekton's and
// Chains' binaries at the /ko-app/<name> paths Tekton hard-codes, the pod
// sandbox's pause, and a busybox shell image. It is a test helper, run only
// by scripts/cluster/lib.sh:
//
//	CLUSTER_IMAGES_SPEC=spec CLUSTER_IMAGES_OUT=out go test ./test/cluster/images -run TestPack
//
// Each line of spec is "kind reference binary": kind ko puts the binary at
// /ko-app/<last path element of the reference's repository>, pause at
// /pause, busybox at /bin/busybox with a symlink for each of its applets in
// /bin. The images are pushed (plain HTTP: the test registry listens on the
// cluster's bridge) and out gets "reference reference@digest" lines.
package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/catalog/publish"
)

func TestPack(t *testing.T) {
	spec, out := os.Getenv("CLUSTER_IMAGES_SPEC"), os.Getenv("CLUSTER_IMAGES_OUT")
	if spec == "" || out == "" {
		t.Skip("CLUSTER_IMAGES_SPEC and CLUSTER_IMAGES_OUT are set by scripts/cluster only")
	}
	f, err := os.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var results strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 3 {
			t.Fatalf("%q: want kind reference binary", sc.Text())
		}
		kind, refStr, binary := fields[0], fields[1], fields[2]
		ref, err := name.ParseReference(refStr, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := pack(kind, ref, binary)
		if err != nil {
			t.Fatalf("%s: %v", refStr, err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatalf("push %s: %v", refStr, err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&results, "%s %s@%s\n", refStr, ref.Context().Name(), d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(results.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func pack(kind string, ref name.Reference, binary string) (v1.Image, error) {
	created := time.Unix(0, 0)
	switch kind {
	case "ko":
		n := path.Base(ref.Context().RepositoryStr())
		img, err := publish.BinaryImage(binary, "/ko-app/"+n, n, created)
		if err != nil {
			return nil, err
		}
		// ko's images say where their kodata is; Tekton's binaries read it.
		return withEnv(img, "KO_DATA_PATH=/var/run/ko")
	case "pause":
		return publish.BinaryImage(binary, "/pause", "pause", created)
	case "busybox":
		img, err := publish.BinaryImage(binary, "/bin/busybox", "busybox", created)
		if err != nil {
			return nil, err
		}
		return withApplets(img, binary)
	}
	return nil, fmt.Errorf("unknown kind %q (ko, pause, busybox)", kind)
}

func withEnv(img v1.Image, env ...string) (v1.Image, error) {
	return withConfig(img, func(c *v1.Config) { c.Env = append(c.Env, env...) })
}

// withConfig returns img with its runtime configuration changed by edit.
func withConfig(img v1.Image, edit func(*v1.Config)) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	edit(&cf.Config)
	return mutate.ConfigFile(img, cf)
}

// withApplets adds /bin/<applet> → busybox symlinks for every applet the
// binary lists, and makes the shell the image's entrypoint.
func withApplets(img v1.Image, binary string) (v1.Image, error) {
	list, err := exec.Command(binary, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", binary, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, a := range strings.Fields(string(list)) {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return nil, err
	}
	return withConfig(img, func(c *v1.Config) {
		c.Entrypoint = []string{"/bin/sh"}
		c.Env = []string{"PATH=/bin:/usr/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	})
}
