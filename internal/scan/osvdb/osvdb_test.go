package osvdb

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
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
	if len(ix2.Vulns) != len(ix.Vulns) || len(ix2.Packages) != len(ix.Packages) {
		t.Fatalf("cached index differs: %d/%d vulns, %d/%d packages", len(ix2.Vulns), len(ix.Vulns), len(ix2.Packages), len(ix.Packages))
	}
	st2, _ := os.Stat(filepath.Join(cache, cacheFile))
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("cache rewritten although the database did not change")
	}
}

func TestRatingsFromRealRecords(t *testing.T) {
	ix, err := Open(testdb.OSV(t))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Vuln{}
	counts := map[cvss.Rating]int{}
	for _, v := range ix.Vulns {
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
	for _, v := range ix.Vulns {
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
	if len(ix.Vulns) != 1 {
		t.Fatalf("%d vulns", len(ix.Vulns))
	}
	time.Sleep(10 * time.Millisecond)
	writeZip(t, filepath.Join(db, "npm", "all.zip"), map[string]string{"TEST-1.json": rec,
		"TEST-2.json": strings.Replace(rec, "TEST-1", "TEST-2", 1)})
	var log bytes.Buffer
	ix, err = Open(db, WithCacheDir(cache), WithProgress(&log))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Vulns) != 2 || !strings.Contains(log.String(), "changed") {
		t.Fatalf("index not rebuilt after the database changed: %d vulns; log:\n%s", len(ix.Vulns), log.String())
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
		ix := &Index{Packages: map[string][]Entry{}}
		ix.add(r)
	})
}
