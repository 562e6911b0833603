package osvdb

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// refsOf returns every package the full index holds, and a few it does
// not, as the packages of an SBOM.
func refsOf(ix *Index, every int) []PackageRef {
	keys := make([]string, 0, len(ix.packages))
	for k := range ix.packages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var refs []PackageRef
	for i, k := range keys {
		if i%every == 0 {
			eco, name, _ := strings.Cut(k, "\x00")
			refs = append(refs, PackageRef{Ecosystem: eco, Name: name})
		}
	}
	return append(refs, PackageRef{Ecosystem: "Go", Name: "example.com/not-in-the-database"},
		PackageRef{Ecosystem: "npm", Name: "left-pad"})
}

// sameLookups checks that got answers every ref exactly as the full index
// does: the same entries in the same order, with the same advisories.
func sameLookups(t *testing.T, full, got *Index, refs []PackageRef) {
	t.Helper()
	for _, r := range refs {
		want, have := full.Lookup(r.Ecosystem, r.Name), got.Lookup(r.Ecosystem, r.Name)
		if len(want) != len(have) {
			t.Fatalf("%s %s: %d entries, want %d", r.Ecosystem, r.Name, len(have), len(want))
		}
		for i := range want {
			w, h := want[i], have[i]
			if !reflect.DeepEqual(*full.Vuln(w.Vuln), *got.Vuln(h.Vuln)) {
				t.Fatalf("%s %s entry %d: advisory %+v, want %+v", r.Ecosystem, r.Name, i, *got.Vuln(h.Vuln), *full.Vuln(w.Vuln))
			}
			w.Vuln, h.Vuln = 0, 0
			if !reflect.DeepEqual(w, h) {
				t.Fatalf("%s %s entry %d: %+v, want %+v", r.Ecosystem, r.Name, i, h, w)
			}
		}
	}
	if !reflect.DeepEqual(full.Ecosystems, got.Ecosystems) {
		t.Fatalf("ecosystems %v, want %v", got.Ecosystems, full.Ecosystems)
	}
}

// Opened for some packages, from the pre-pass (cold) or from the cached
// name index (warm), the real database answers every lookup of those
// packages exactly as the whole compiled database does.
func TestOpenForPackagesMatchesFullIndex(t *testing.T) {
	db := sharedtest.OSV(t)
	full, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, every := range []int{1, 17} {
		refs := refsOf(full, every)
		cache := t.TempDir()
		var log bytes.Buffer
		cold, err := Open(db, WithPackages(refs), WithCacheDir(cache), WithProgress(&log))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(log.String(), "name index written"); n != 3 {
			t.Fatalf("cold open wrote %d name indexes, want 3; log:\n%s", n, log.String())
		}
		sameLookups(t, full, cold, refs)
		log.Reset()
		warm, err := Open(db, WithPackages(refs), WithCacheDir(cache), WithProgress(&log))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(log.String(), "(name index "+cache); n != 3 {
			t.Fatalf("warm open used %d cached name indexes, want 3; log:\n%s", n, log.String())
		}
		sameLookups(t, full, warm, refs)
		if every == 1 && (cold.NumVulns() != full.NumVulns() || warm.NumPackages() != full.NumPackages()) {
			t.Fatalf("all packages: %d/%d advisories, %d/%d packages", cold.NumVulns(), full.NumVulns(), warm.NumPackages(), full.NumPackages())
		}
		if every > 1 && cold.NumVulns() >= full.NumVulns() {
			t.Fatalf("opened for %d packages, compiled %d advisories of %d", len(refs), cold.NumVulns(), full.NumVulns())
		}
	}
}

// Only the ecosystems named are read: a corrupt zip elsewhere is not.
func TestOpenForReadsOnlyNamedEcosystems(t *testing.T) {
	db := t.TempDir()
	writeZip(t, filepath.Join(db, "npm", "all.zip"), map[string]string{"TEST-1.json": rec})
	os.MkdirAll(filepath.Join(db, "Go"), 0o755)
	os.WriteFile(filepath.Join(db, "Go", "all.zip"), []byte("not a zip"), 0o644)
	ix, err := Open(db, WithPackages([]PackageRef{{Ecosystem: "npm", Name: "left-pad"}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Lookup("npm", "left-pad")) != 1 || !reflect.DeepEqual(ix.Ecosystems, []string{"Go", "npm"}) {
		t.Fatalf("lookup %v, ecosystems %v", ix.Lookup("npm", "left-pad"), ix.Ecosystems)
	}
	_, err = Open(db, WithPackages([]PackageRef{{Ecosystem: "Go", Name: "x"}}))
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt Go zip with a Go package: %v", err)
	}
}

// A cached name index that is corrupt is not trusted but rebuilt; one
// whose directory cannot be written gives way to the next directory.
func TestNameIndexCorruptOrUnwritable(t *testing.T) {
	db, cache := t.TempDir(), t.TempDir()
	writeZip(t, filepath.Join(db, "npm", "all.zip"), map[string]string{"TEST-1.json": rec})
	refs := WithPackages([]PackageRef{{Ecosystem: "npm", Name: "left-pad"}})
	if _, err := Open(db, refs, WithCacheDir(cache)); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "osv-names-npm-*.bin"))
	if len(files) != 1 {
		t.Fatalf("name index files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	b[len(b)-1] ^= 0xff
	os.WriteFile(files[0], b, 0o644)
	var log bytes.Buffer
	ix, err := Open(db, refs, WithCacheDir(cache), WithProgress(&log))
	if err != nil || len(ix.Lookup("npm", "left-pad")) != 1 {
		t.Fatalf("after corrupting the cache: %v, %v", err, ix)
	}
	if !strings.Contains(log.String(), "checksum mismatch") || !strings.Contains(log.String(), "name index written") {
		t.Fatalf("corrupt name index not reported and rebuilt; log:\n%s", log.String())
	}
	if b2, _ := os.ReadFile(files[0]); bytes.Equal(b, b2) {
		t.Fatal("corrupt name index left in place")
	}

	notADir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notADir, nil, 0o644)
	second := t.TempDir()
	log.Reset()
	if _, err := Open(db, refs, WithCacheDir(filepath.Join(notADir, "cache"), second), WithProgress(&log)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "name index written to "+second) {
		t.Fatalf("unwritable first directory: log:\n%s", log.String())
	}
}

func TestNameValues(t *testing.T) {
	doc := `{"id":"X","credits":[{"name":"someone"}],"summary":"a \"name\": \"trap\"",
	  "affected":[{"package":{"ecosystem":"Go" , "Name" :
	  "example.com/a"}},{"package":{"n\u0061me":"example.com/\u0062","ecosystem":"Go"}}],
	  "database_specific":{"name":{"nested":"object"},"x":["name"]}}`
	var got []string
	nameValues([]byte(doc), func(n string) { got = append(got, n) })
	want := []string{"someone", "example.com/a", "example.com/b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	for _, cut := range []string{`{"name":"x`, `{"name":"x\`, `{"name`, `{"a":"\`} {
		nameValues([]byte(cut), func(string) {}) // truncated input: no panic
	}
}

// In the AlmaLinux corpus 37 advisory ids are published for more than one
// major release, in 80 files with their own affected entries: 43 records
// beyond one per id (the README of shared/osv counts those). Every one
// must stay in the index, not overwrite another.
func TestAlmaLinuxIDsInSeveralReleasesAllCount(t *testing.T) {
	ix, err := Open(sharedtest.OSV(t))
	if err != nil {
		t.Fatal(err)
	}
	perID := map[string]int{}
	for _, v := range ix.vulns {
		if strings.HasPrefix(v.ID, "AL") {
			perID[v.ID]++
		}
	}
	ids, extra := 0, 0
	for _, n := range perID {
		if n > 1 {
			ids++
			extra += n - 1
		}
	}
	if ids != 37 || extra != 43 {
		t.Errorf("%d AlmaLinux ids indexed for several releases with %d extra records, want 37 and 43", ids, extra)
	}
}

func TestRatingsFromRealRecords(t *testing.T) {
	ix, err := Open(sharedtest.OSV(t))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Vuln{}
	counts := map[cvss.Rating]int{}
	for _, v := range ix.vulns {
		byID[v.ID] = v
		counts[v.Rating]++
	}
	// Go records carry no severity: unknown. AlmaLinux summaries carry
	// Red Hat's rating. Some crates records carry only CVSS v4 vectors.
	if r := byID["GO-2020-0015"].Rating; r != cvss.Unknown {
		t.Errorf("GO-2020-0015 rating %s, want unknown", r)
	}
	if r := byID["ALSA-2025:10073"].Rating; r != cvss.High {
		t.Errorf("ALSA-2025:10073 (Important) rating %s, want high", r)
	}
	v4 := 0
	for _, v := range ix.vulns {
		if strings.HasPrefix(v.Vector, "CVSS:4.0/") {
			v4++
			if v.Rating == cvss.Unknown {
				t.Errorf("%s: v4 vector %s gave %s %v", v.ID, v.Vector, v.Rating, v.Score)
			}
		}
	}
	if v4 == 0 {
		t.Error("no advisory rated from a CVSS v4 vector")
	}
	t.Logf("ratings: %v", counts)
}

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

const rec = `{"id":"TEST-1","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.0"}]}]}]}`

// The name index is keyed by the zip's content: a changed database is
// pre-passed again, never read through the old index, even when its
// size and modification time are the same.
func TestNameIndexFollowsDatabaseContent(t *testing.T) {
	db, cache := t.TempDir(), t.TempDir()
	zipPath := filepath.Join(db, "npm", "all.zip")
	rec2 := strings.Replace(rec, "TEST-1", "TEST-2", 1)
	writeZip(t, zipPath, map[string]string{"TEST-1.json": rec, "TEST-2.json": strings.Replace(rec2, "left-pad", "left-pod", 1)})
	st, _ := os.Stat(zipPath)
	refs := WithPackages([]PackageRef{{Ecosystem: "npm", Name: "left-pad"}})
	ix, err := Open(db, refs, WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if ix.NumVulns() != 1 {
		t.Fatalf("%d vulns", ix.NumVulns())
	}
	writeZip(t, zipPath, map[string]string{"TEST-1.json": rec, "TEST-2.json": rec2})
	if st2, _ := os.Stat(zipPath); st2.Size() != st.Size() {
		t.Fatalf("test zips differ in size: %d, %d", st.Size(), st2.Size())
	}
	os.Chtimes(zipPath, st.ModTime(), st.ModTime())
	var log bytes.Buffer
	ix, err = Open(db, refs, WithCacheDir(cache), WithProgress(&log))
	if err != nil {
		t.Fatal(err)
	}
	if ix.NumVulns() != 2 || !strings.Contains(log.String(), "name index written") {
		t.Fatalf("name index not rebuilt after the database changed: %d vulns; log:\n%s", ix.NumVulns(), log.String())
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "osv-names-npm-*.bin")); len(files) != 1 {
		t.Fatalf("old name index not removed: %v", files)
	}
}

func TestUnpackedJSON(t *testing.T) {
	db := t.TempDir()
	os.MkdirAll(filepath.Join(db, "npm", "sub"), 0o755)
	os.WriteFile(filepath.Join(db, "npm", "sub", "TEST-1.json"), []byte(rec), 0o644)
	ix, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Lookup("npm", "left-pad")) != 1 {
		t.Fatal("unpacked record not indexed")
	}
}

// A database bound as a Kubernetes ConfigMap volume (items path
// Go/all.zip) is laid out as the kubelet writes it: the ecosystem folder is
// a link into a timestamped ..data folder.
func TestConfigMapVolumeLayout(t *testing.T) {
	db := t.TempDir()
	writeZip(t, filepath.Join(db, "..2026_12_06_20_42_44.1", "npm", "all.zip"), map[string]string{"TEST-1.json": rec})
	if err := os.Symlink("..2026_12_06_20_42_44.1", filepath.Join(db, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/npm", filepath.Join(db, "npm")); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Lookup("npm", "left-pad")) != 1 || !reflect.DeepEqual(ix.Ecosystems, []string{"npm"}) {
		t.Fatalf("lookup %v, ecosystems %v: want left-pad found in npm only", ix.Lookup("npm", "left-pad"), ix.Ecosystems)
	}
}

func TestMissingOrCorruptDatabase(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, ErrNoDatabase) {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNoDatabase) {
		t.Errorf("empty dir: %v", err)
	}
	db := t.TempDir()
	os.MkdirAll(filepath.Join(db, "Go"), 0o755)
	os.WriteFile(filepath.Join(db, "Go", "all.zip"), []byte("PK\x03\x04 not really a zip"), 0o644)
	if _, err := Open(db); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt zip: %v", err)
	}
	db = t.TempDir()
	writeZip(t, filepath.Join(db, "npm", "all.zip"), map[string]string{"BAD.json": `{"id":"BAD","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`})
	_, err := Open(db)
	if err == nil || !strings.Contains(err.Error(), "BAD.json") || !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("bad record: %v", err)
	}
}

func TestEventsSorted(t *testing.T) {
	got := sortEvents([]Event{{Fixed: "1.10.0"}, {Introduced: "1.2.0"}, {Introduced: "0"}, {Fixed: "1.1.0"}}, "Go")
	want := []Event{{Introduced: "0"}, {Fixed: "1.1.0"}, {Introduced: "1.2.0"}, {Fixed: "1.10.0"}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sorted %v, want %v", got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(rec))
	f.Add([]byte(`{"id":"X","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	f.Add([]byte(`{"id":"ALSA-1","summary":"Important: x","affected":[{"package":{"ecosystem":"AlmaLinux:9","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1-1.el9"}]}],"versions":["1"]}]}`))
	f.Add([]byte(`{"id":"Y","affected":[{"package":{"ecosystem":"Go","n\u0061me":"a\"b"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		if r.ID == "" {
			t.Fatal("accepted a record without id")
		}
		Rate(r)
		ix := &Index{packages: map[string][]Entry{}}
		ix.add(compileRecord(r))
		// The pre-pass must find every package name a record can match
		// (Go's decoder takes the last of duplicate keys, so that is the
		// name to find).
		found := map[string]bool{}
		nameValues(data, func(n string) { found[n] = true })
		for _, a := range r.Affected {
			if a.Package.Name != "" && !found[a.Package.Name] {
				t.Fatalf("pre-pass missed package name %q; found %v", a.Package.Name, found)
			}
		}
	})
}

// FuzzNameIndex feeds arbitrary bytes to the name index reader past its
// checksum: a corrupt file must give an error, never a panic, and what
// it accepts must encode back to the same bytes.
func FuzzNameIndex(f *testing.F) {
	n := &nameIndex{files: 5, records: 4, byName: map[string][]uint32{"left-pad": {1, 3}, "x": {4}}}
	f.Add(encodeNames(n)[len(namesMagic)+4:])
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := decodeNamesBody(body)
		if err != nil {
			return
		}
		for _, es := range n.byName {
			for _, e := range es {
				if int(e) >= n.files {
					t.Fatalf("entry %d beyond %d files", e, n.files)
				}
			}
		}
	})
}
