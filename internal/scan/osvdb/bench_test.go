package osvdb

import (
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/internal/testdb"
)

// BenchmarkOpenCached is the warm path of every scan: the database is
// unchanged, so the compiled index is read from the cache.
func BenchmarkOpenCached(b *testing.B) {
	db, cache := testdb.OSV(b), b.TempDir()
	if _, err := Open(db, WithCacheDir(cache)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		ix, err := Open(db, WithCacheDir(cache))
		if err != nil {
			b.Fatal(err)
		}
		ix.Lookup("Go", "golang.org/x/text")
	}
}

// BenchmarkCompile is the cold path: parse every record of the three
// databases and build the index.
func BenchmarkCompile(b *testing.B) {
	db := testdb.OSV(b)
	for range b.N {
		if _, err := Open(db); err != nil {
			b.Fatal(err)
		}
	}
}
