package match

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/osvdb"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

var shared *osvdb.Index

func index(t *testing.T) *osvdb.Index {
	t.Helper()
	if shared == nil {
		ix, err := osvdb.Open(sharedtest.OSV(t), osvdb.WithProgress(os.Stderr))
		if err != nil {
			t.Fatal(err)
		}
		shared = ix
	}
	return shared
}

func ids(vs []finding.Vulnerability) map[string]finding.Vulnerability {
	m := map[string]finding.Vulnerability{}
	for _, v := range vs {
		m[v.ID] = v
	}
	return m
}

func TestRealDatabase(t *testing.T) {
	ix := index(t)
	cases := []struct {
		name     string
		pkg      finding.Package
		want     []string // advisory ids that must be found
		notWant  []string
		wantNone bool
	}{
		{name: "x/text v0.3.0", pkg: finding.Package{Name: "golang.org/x/text", Version: "0.3.0", Ecosystem: "Go"},
			want: []string{"GO-2020-0015", "GO-2021-0113", "GO-2022-1059"}},
		{name: "x/text fixed", pkg: finding.Package{Name: "golang.org/x/text", Version: "0.39.0", Ecosystem: "Go"}, wantNone: true},
		{name: "x/text boundary: fixed version itself is not affected", pkg: finding.Package{Name: "golang.org/x/text", Version: "0.3.7", Ecosystem: "Go"},
			want: []string{"GO-2022-1059"}, notWant: []string{"GO-2021-0113"}},
		{name: "AlmaLinux 9 openssl by binary name", pkg: finding.Package{Name: "openssl-libs", Version: "1:3.0.1-41.el9_0", Ecosystem: "AlmaLinux:9"},
			want: []string{"ALSA-2026:25239"}},
		{name: "AlmaLinux 9 by source package", pkg: finding.Package{Name: "not-in-db", Source: "openssl", Version: "1:3.0.1-41.el9_0", Ecosystem: "AlmaLinux:9"},
			want: []string{"ALSA-2026:25239"}},
		{name: "AlmaLinux 8 advisories do not apply to 9", pkg: finding.Package{Name: "openssl-libs", Version: "1:99-1.el9", Ecosystem: "AlmaLinux:9"}, wantNone: true},
		// The standard library: advisories fixed in 1.20.4 affect 1.20.3,
		// and none of the database's advisories reaches Go 1.26.8.
		{name: "stdlib 1.20.3", pkg: finding.Package{Name: "stdlib", Version: "1.20.3", Ecosystem: "Go"},
			want: []string{"GO-2023-1751", "GO-2023-1752", "GO-2023-1753"}},
		{name: "stdlib 1.26.8", pkg: finding.Package{Name: "stdlib", Version: "1.26.8", Ecosystem: "Go"}, wantNone: true},
		{name: "Windows-only advisory skipped for a Linux binary", pkg: finding.Package{Name: "golang.org/x/sys", Version: "0.43.0", Ecosystem: "Go", GOOS: "linux"},
			notWant: []string{"GO-2026-5024"}},
		{name: "Windows-only advisory kept for a Windows binary", pkg: finding.Package{Name: "golang.org/x/sys", Version: "0.43.0", Ecosystem: "Go", GOOS: "windows"},
			want: []string{"GO-2026-5024"}},
		{name: "crates.io", pkg: finding.Package{Name: "smallvec", Version: "0.6.9", Ecosystem: "crates.io"},
			want: []string{"RUSTSEC-2019-0009"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Packages(ix, []finding.Package{c.pkg})
			got := ids(res.Vulnerabilities)
			if c.wantNone && len(got) > 0 {
				t.Fatalf("want no findings, got %v", slices.Sorted(maps.Keys(got)))
			}
			for _, w := range c.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %s; got %v", w, slices.Sorted(maps.Keys(got)))
				}
			}
			for _, w := range c.notWant {
				if _, ok := got[w]; ok {
					t.Errorf("unexpected %s", w)
				}
			}
		})
	}
}

// An advisory published under two ids that alias each other (a GHSA and
// a GO id, say) is one finding, with the other id among its aliases; the
// binary and the source package name matching the same advisory is one
// finding too.
func TestDedupeByIDAndAliases(t *testing.T) {
	db := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Join(db, "npm"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(db, "npm", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rng := `"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]`
	write("a.json", `{"id":"GHSA-aaaa-bbbb-cccc","aliases":["CVE-2026-1"],"affected":[{"package":{"ecosystem":"npm","name":"lib"},`+rng+`},{"package":{"ecosystem":"npm","name":"lib-src"},`+rng+`}]}`)
	write("b.json", `{"id":"NPM-2026-1","aliases":["CVE-2026-1","GHSA-aaaa-bbbb-cccc"],"affected":[{"package":{"ecosystem":"npm","name":"lib"},`+rng+`}]}`)
	write("c.json", `{"id":"NPM-2026-2","affected":[{"package":{"ecosystem":"npm","name":"lib"},`+rng+`}]}`)
	ix, err := osvdb.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	res := Packages(ix, []finding.Package{{Name: "lib", Source: "lib-src", Version: "1.0.0", Ecosystem: "npm"}})
	if len(res.Vulnerabilities) != 2 {
		t.Fatalf("%d findings, want 2: %+v", len(res.Vulnerabilities), res.Vulnerabilities)
	}
	got := ids(res.Vulnerabilities)
	first := got["GHSA-aaaa-bbbb-cccc"]
	if strings.Join(first.Aliases, ",") != "CVE-2026-1,NPM-2026-1" || first.FixedVersion != "2.0.0" {
		t.Errorf("merged finding %+v", first)
	}
	if _, ok := got["NPM-2026-2"]; !ok {
		t.Error("an unrelated advisory was merged away")
	}
}
