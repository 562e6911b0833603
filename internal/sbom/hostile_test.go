package sbom

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/sbom/layerfs"
	"github.com/trustline-dev/trustline/internal/scan/inventory"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// An image whose layers try to escape, plant devices and links, and
// inflate: the SBOM is still made from what is legitimately there, and
// nothing is written outside the temporary directory, which is empty
// again afterwards.
func TestHostileImage(t *testing.T) {
	reg := testregistry.Start(t)
	parent := t.TempDir()
	tmp := filepath.Join(parent, "tmp")
	os.Mkdir(tmp, 0o755)
	sentinel := filepath.Join(parent, "sentinel")
	os.WriteFile(sentinel, []byte("keep"), 0o644)

	hostile := testimage.Layer(t, []testimage.File{
		{Name: "../../../sentinel", Body: "pwned"},
		{Name: "../../sentinel", Body: "pwned"},
		{Name: "up", Type: tar.TypeSymlink, Linkname: "../../../../"},
		{Name: "up/sentinel", Body: "pwned"},
		{Name: "up/tmp/x", Body: "pwned"},
		{Name: "host", Type: tar.TypeSymlink, Linkname: parent},
		{Name: "host/sentinel", Body: "pwned"},
		{Name: "hard", Type: tar.TypeLink, Linkname: "../../../sentinel"},
		{Name: "dev/kmsg", Type: tar.TypeChar},
		{Name: "dev/sda", Type: tar.TypeBlock},
		{Name: "pipe", Type: tar.TypeFifo},
		{Name: "huge.bin", Body: strings.Repeat("\x00", 3<<20)},
		// A dpkg database reached through an absolute link: it must
		// resolve inside the image, not on the host.
		{Name: "var/lib/dpkg", Type: tar.TypeSymlink, Linkname: "/srv/dpkg"},
		{Name: "srv/dpkg/status", Body: statusBase},
	}...)
	dig := testregistry.Push(t, reg+"/evil/app:1", imageOf(t, "amd64", nil, baseLayer(t), hostile))
	res, err := Generate(context.Background(), Request{Reference: dig, Format: CycloneDX},
		WithTempDir(tmp), WithLayerLimits(layerfs.WithMaxFileSize(1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	validate(t, CycloneDX, res.Document)
	if b, _ := os.ReadFile(sentinel); string(b) != "keep" {
		t.Fatalf("sentinel outside the temporary directory changed: %q", b)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary directory not cleaned: %v", ents)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 2 {
		t.Errorf("files appeared beside the temporary directory: %v", ents)
	}
	d, _ := inventory.Decode(res.Document)
	if _, ok := byName(t, d)["libc6"]; !ok {
		t.Errorf("packages from the image are missing: %v", names(d))
	}
	if res.Catalog.Layers[1].Skipped < 4 {
		t.Errorf("hostile layer: %d entries skipped, want the devices, FIFO and huge file", res.Catalog.Layers[1].Skipped)
	}
}

func TestBombImage(t *testing.T) {
	reg := testregistry.Start(t)
	bomb := testimage.Layer(t, []testimage.File{{Name: "a", Body: strings.Repeat("\x00", 3<<20)}, {Name: "b", Body: strings.Repeat("\x00", 3<<20)}}...)
	dig := testregistry.Push(t, reg+"/evil/bomb:1", imageOf(t, "amd64", nil, baseLayer(t), bomb))
	tmp := t.TempDir()
	_, err := Generate(context.Background(), Request{Reference: dig, Format: CycloneDX},
		WithTempDir(tmp), WithLayerLimits(layerfs.WithMaxTotalSize(4<<20)))
	if !errors.Is(err, layerfs.ErrLimit) {
		t.Fatalf("err = %v, want layerfs.ErrLimit", err)
	}
	if !strings.Contains(err.Error(), "layer 1 (sha256:") || !strings.Contains(err.Error(), dig.String()) {
		t.Errorf("error %q does not name the image and layer", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary directory not cleaned after the error: %v", ents)
	}
}
