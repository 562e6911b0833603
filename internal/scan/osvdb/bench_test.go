package osvdb

import (
	"testing"

	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// goRefs is a Go SBOM's worth of packages: every 20th Go package the
// database names (about 130 of 2,600) and the standard library.
func goRefs(b *testing.B, db string) []PackageRef {
	full, err := Open(db)
	if err != nil {
		b.Fatal(err)
	}
	var refs []PackageRef
	for _, r := range refsOf(full, 20) {
		if r.Ecosystem == "Go" {
			refs = append(refs, r)
		}
	}
	return append(refs, PackageRef{Ecosystem: "Go", Name: "stdlib"})
}

// BenchmarkOpenForCold is a scan's first open of the database: the
// pre-pass over the Go zip, the records naming the SBOM's packages
// compiled (no cache).
func BenchmarkOpenForCold(b *testing.B) {
	db := sharedtest.OSV(b)
	refs := goRefs(b, db)
	b.ResetTimer()
	for range b.N {
		if _, err := Open(db, WithPackages(refs)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenForCached is every later scan: the name index read from
// the cache, only the records naming the SBOM's packages decompressed.
func BenchmarkOpenForCached(b *testing.B) {
	db, cache := sharedtest.OSV(b), b.TempDir()
	refs := goRefs(b, db)
	if _, err := Open(db, WithPackages(refs), WithCacheDir(cache)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Open(db, WithPackages(refs), WithCacheDir(cache)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile compiles every record of the three databases.
func BenchmarkCompile(b *testing.B) {
	db := sharedtest.OSV(b)
	for range b.N {
		if _, err := Open(db); err != nil {
			b.Fatal(err)
		}
	}
}
