package sbom

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// A layer that does not fit in a size-limited tmpfs (what the sbom task
// unpacks into) is unpacked again in the spill directory, with the same
// catalog as an unlimited run; without a spill directory the run fails on
// ENOSPC. Mounting the tmpfs needs root.
func TestSpillWhenTempDirIsFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	small := t.TempDir()
	// Room for the dpkg layer, not for the app layer's Go binary.
	if err := syscall.Mount("tmpfs", small, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(small, syscall.MNT_DETACH) })
	img := benchImage(t)
	ctx := context.Background()

	want, err := CatalogImage(ctx, img, WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CatalogImage(ctx, img, WithTempDir(small)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("without a spill directory: err = %v, want ENOSPC", err)
	}
	var progress strings.Builder
	got, err := CatalogImage(ctx, img, WithTempDir(small), WithSpillDir(t.TempDir()), WithProgress(&progress))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "is full, unpacking again below") {
		t.Errorf("no layer was spilled; progress:\n%s", progress.String())
	}
	if g, w := packageIDs(got), packageIDs(want); !slices.Equal(g, w) {
		t.Errorf("spilled catalog = %v, want %v", g, w)
	}
	if left, _ := os.ReadDir(small); len(left) != 0 {
		t.Errorf("the tmpfs still holds %d entries", len(left))
	}
}

func packageIDs(c *Catalog) []string {
	var out []string
	for _, p := range c.Packages() {
		out = append(out, p.Name+"@"+p.Version)
	}
	slices.Sort(out)
	return out
}
