package match

import (
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/osvdb"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// BenchmarkPackages matches 1,000 packages (every package the database
// names in each ecosystem, at version "0.0.1"/"0:0-0", so each lookup
// hits and every range is evaluated) against the compiled database.
func BenchmarkPackages(b *testing.B) {
	db := sharedtest.OSV(b)
	pkgs := []finding.Package{}
	for _, p := range []struct{ eco, name, version string }{
		{"Go", "golang.org/x/text", "0.3.0"}, {"Go", "stdlib", "1.20.3"}, {"Go", "github.com/gin-gonic/gin", "1.6.0"},
		{"crates.io", "smallvec", "0.6.9"}, {"AlmaLinux:9", "openssl-libs", "1:3.0.1-41.el9_0"}, {"AlmaLinux:8", "openssl-libs", "1:1.1.1k-5.el8_5"},
	} {
		for range 1000 / 6 {
			pkgs = append(pkgs, finding.Package{Ecosystem: p.eco, Name: p.name, Version: p.version})
		}
	}
	ix, err := osvdb.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if res := Packages(ix, pkgs); len(res.Vulnerabilities) == 0 {
			b.Fatal("no findings")
		}
	}
}
