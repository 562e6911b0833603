package sbom

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// benchImage is the three-layer test image (dpkg, Go binary, npm, Python).
func benchImage(b testing.TB) v1.Image {
	return imageOf(b, "amd64", baseAnnotations, baseLayer(b), appLayer(b), cleanupLayer(b))
}

// BenchmarkCatalogCold catalogs every layer; BenchmarkCatalogWarm finds
// every layer in the cache. Whole-image figures against the syft CLI are
// in scripts/bench/sbom.sh.
func BenchmarkCatalogCold(b *testing.B) {
	img := benchImage(b)
	for b.Loop() {
		if _, err := CatalogImage(context.Background(), img, WithTempDir(b.TempDir())); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCatalogWarm(b *testing.B) {
	img := benchImage(b)
	cache := b.TempDir()
	if _, err := CatalogImage(context.Background(), img, WithCacheDir(cache)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := CatalogImage(context.Background(), img, WithTempDir(b.TempDir()), WithCacheDir(cache)); err != nil {
			b.Fatal(err)
		}
	}
}
