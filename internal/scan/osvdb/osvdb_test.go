package osvdb

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/internal/testdb"
)

func TestOpenRealDatabaseAndCache(t *testing.T) {
	cache := t.TempDir()
	var log bytes.Buffer
	ix, err := Open(testdb.OSV(t), WithCacheDir(cache), WithProgress(&log))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "compiled") {
		t.Fatalf("first open should compile; log:\n%s", log.String())
	}
	// 43 AlmaLinux ids exist for more than one major release: each
	// release keeps its own affected entries.
	n8, n9 := 0, 0
	for _, e := range ix.Lookup("AlmaLinux:8", "openssl") {
		_ = e
		n8++
	}
	for range ix.Lookup("AlmaLinux:9", "openssl") {
		n9++
	}
	if n8 == 0 || n9 == 0 {
		t.Fatalf("openssl advisories: AlmaLinux:8 %d, AlmaLinux:9 %d; want both > 0", n8, n9)
	}
	st, err := os.Stat(filepath.Join(cache, cacheFile))
	// A corrupt cache is rebuilt, not trusted.
	if err == nil {
		b, _ := os.ReadFile(filepath.Join(cache, cacheFile))
		if _, err := decodeFile(append(b[:len(b)-1:len(b)-1], b[len(b)-1]^0xff), ix.Fingerprint); err == nil {
			t.Fatal("a flipped byte passed the checksum")
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	log.Reset()
	ix2, err := Open(testdb.OSV(t), WithCacheDir(cache), WithProgress(&log))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "is current") {
		t.Fatalf("second open should reuse the index; log:\n%s", log.String())
	}
	if ix2.NumVulns() != ix.NumVulns() || ix2.NumPackages() != ix.NumPackages() {
		t.Fatalf("cached index differs: %d/%d vulns, %d/%d packages", ix2.NumVulns(), ix.NumVulns(), ix2.NumPackages(), ix.NumPackages())
	}
	// Every package and advisory decodes back to what was compiled.
	for k, want := range ix.packages {
		eco, name, _ := strings.Cut(k, "\x00")
		got := ix2.Lookup(eco, name)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: cached %+v, compiled %+v", k, got, want)
		}
	}
	for i := range ix.vulns {
		if got := ix2.Vuln(int32(i)); !reflect.DeepEqual(*got, ix.vulns[i]) {
			t.Fatalf("advisory %d: cached %+v, compiled %+v", i, *got, ix.vulns[i])
		}
	}
	if err := ix2.Err(); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(cache, cacheFile))
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("cache rewritten although the database did not change")
	}
}

// In the AlmaLinux corpus 37 advisory ids are published for more than one
// major release, in 80 files with their own affected entries: 43 records
// beyond one per id (the README of shared/osv counts those). Every one
// must stay in the index, not overwrite another.
func TestAlmaLinuxIDsInSeveralReleasesAllCount(t *testing.T) {
	ix, err := Open(testdb.OSV(t))
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
	ix, err := Open(testdb.OSV(t))
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

func TestRebuildWhenDatabaseChanges(t *testing.T) {
	db, cache := t.TempDir(), t.TempDir()
	writeZip(t, filepath.Join(db, "npm", "all.zip"), map[string]string{"TEST-1.json": rec})
	ix, err := Open(db, WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if ix.NumVulns() != 1 {
		t.Fatalf("%d vulns", ix.NumVulns())
	}
	time.Sleep(10 * time.Millisecond)
	writeZip(t, filepath.Join(db, "npm", "all.zip"), map[string]string{"TEST-1.json": rec,
		"TEST-2.json": strings.Replace(rec, "TEST-1", "TEST-2", 1)})
	var log bytes.Buffer
	ix, err = Open(db, WithCacheDir(cache), WithProgress(&log))
	if err != nil {
		t.Fatal(err)
	}
	if ix.NumVulns() != 2 || !strings.Contains(log.String(), "changed") {
		t.Fatalf("index not rebuilt after the database changed: %d vulns; log:\n%s", ix.NumVulns(), log.String())
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
		ix.add(r)
		// What compiles must survive the cache layout.
		data, err2 := encodeIndex(ix)
		if err2 != nil {
			t.Fatal(err2)
		}
		back, err := decodeFile(data, "")
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range ix.packages {
			eco, name, _ := strings.Cut(k, "\x00")
			if got := back.Lookup(eco, name); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: %+v != %+v", k, got, want)
			}
		}
	})
}

// FuzzCachedIndex feeds arbitrary bytes to the cache reader past its
// checksum: a corrupt file must give an error, never a panic.
func FuzzCachedIndex(f *testing.F) {
	ix := &Index{packages: map[string][]Entry{}}
	r, _ := Parse([]byte(rec))
	ix.add(r)
	data, _ := encodeIndex(ix)
	hl := int(data[8]) | int(data[9])<<8
	f.Add(data[12+hl+4:])
	f.Fuzz(func(t *testing.T, body []byte) {
		ix, err := decodeBody(body, fileHeader{Format: formatVersion})
		if err != nil {
			return
		}
		for k := range ix.lazy.pkgs {
			eco, name, _ := strings.Cut(k, "\x00")
			for _, e := range ix.Lookup(eco, name) {
				ix.Vuln(e.Vuln)
			}
		}
		for i := range ix.NumVulns() {
			ix.Vuln(int32(i))
		}
		_ = ix.Err()
	})
}
