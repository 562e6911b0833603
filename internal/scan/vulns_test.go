package scan

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/inventory"
	"github.com/trustline-dev/trustline/internal/scan/match"
	"github.com/trustline-dev/trustline/internal/scan/osvdb"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// realSBOM is a CycloneDX SBOM of packages the real databases name: from
// every 4th record of each zip, its first package at the first version an
// event names (so many of them are affected), plus the standard library
// and a package no advisory names.
func realSBOM(t *testing.T, db string) []byte {
	t.Helper()
	type comp struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		PURL    string `json:"purl"`
	}
	comps := []comp{
		{"library", "stdlib", "go1.20.3", "pkg:golang/stdlib@1.20.3"},
		{"library", "example.com/none", "v1.0.0", "pkg:golang/example.com/none@v1.0.0"},
	}
	seen := map[string]bool{}
	for _, eco := range []string{"Go", "crates.io", "AlmaLinux"} {
		zr, err := zip.OpenReader(filepath.Join(db, eco, "all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range zr.File {
			if i%4 != 0 {
				continue
			}
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			var r struct {
				Affected []struct {
					Package struct{ Ecosystem, Name string }
					Ranges  []struct{ Events []map[string]string }
				}
			}
			if err := json.Unmarshal(b, &r); err != nil || len(r.Affected) == 0 || len(r.Affected[0].Ranges) == 0 {
				continue
			}
			a := r.Affected[0]
			v := ""
			for _, e := range a.Ranges[0].Events {
				for _, k := range []string{"introduced", "fixed"} {
					if x := e[k]; x != "" && x != "0" && v == "" {
						v = x
					}
				}
			}
			if v == "" || seen[a.Package.Ecosystem+a.Package.Name] {
				continue
			}
			seen[a.Package.Ecosystem+a.Package.Name] = true
			switch base, release, _ := strings.Cut(a.Package.Ecosystem, ":"); base {
			case "Go":
				comps = append(comps, comp{"library", a.Package.Name, "v" + v, "pkg:golang/" + a.Package.Name + "@v" + v})
			case "crates.io":
				comps = append(comps, comp{"library", a.Package.Name, v, "pkg:cargo/" + a.Package.Name + "@" + v})
			case "AlmaLinux":
				epoch, ver, ok := strings.Cut(v, ":")
				if !ok {
					epoch, ver = "", v
				}
				purl := fmt.Sprintf("pkg:rpm/almalinux/%s@%s?arch=x86_64&distro=almalinux-%s.4", a.Package.Name, ver, release)
				if epoch != "" {
					purl += "&epoch=" + epoch
				}
				comps = append(comps, comp{"library", a.Package.Name, v, purl})
			}
		}
		zr.Close()
	}
	b, err := json.Marshal(map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A scan without a cache (the pre-pass), one that writes the name index
// and one that reads it give the same findings as matching against the
// whole compiled database, on the real databases.
func TestColdAndCachedScansFindTheSame(t *testing.T) {
	db := sharedtest.OSV(t)
	sbom := realSBOM(t, db)
	doc, err := inventory.Decode(sbom)
	if err != nil {
		t.Fatal(err)
	}
	full, err := osvdb.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	want := match.Packages(full, doc.Packages)
	ecos := map[string]int{}
	for _, v := range want.Vulnerabilities {
		ecos[strings.SplitN(v.Package.Ecosystem, ":", 2)[0]]++
	}
	if ecos["Go"] < 50 || ecos["crates.io"] < 50 || ecos["AlmaLinux"] < 50 {
		t.Fatalf("the SBOM of %d packages should hit many advisories in every ecosystem: %v", len(doc.Packages), ecos)
	}
	cache := t.TempDir()
	for _, run := range []struct {
		name string
		opts []Option
	}{
		{"no cache", nil},
		{"cache written", []Option{WithDBCache(cache)}},
		{"cache read", []Option{WithDBCache(cache)}},
	} {
		var log strings.Builder
		rep, err := Vulnerabilities(sbom, "real", db, append(run.opts, WithProgress(&log))...)
		if err != nil {
			t.Fatalf("%s: %v", run.name, err)
		}
		if !reflect.DeepEqual(rep.Vulnerabilities, want.Vulnerabilities) {
			t.Fatalf("%s: %d findings differ from the %d of the whole database", run.name, len(rep.Vulnerabilities), len(want.Vulnerabilities))
		}
		if rep.Unmatched != want.Unmatched+doc.Skipped {
			t.Fatalf("%s: %d unmatched, want %d", run.name, rep.Unmatched, want.Unmatched+doc.Skipped)
		}
		if run.name == "cache read" && strings.Count(log.String(), "(name index "+cache) != 3 {
			t.Fatalf("%s: the cached name indexes were not used; log:\n%s", run.name, log.String())
		}
	}
	t.Logf("%d packages, findings by ecosystem %v", len(doc.Packages), ecos)
}
