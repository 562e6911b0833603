package catalog

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseIsStrict(t *testing.T) {
	_, err := Parse("catalog.yaml", []byte("registry: r\ntasks:\n- name: a\n  versions:\n  - version: 0.1.0\n    expiresOn: 2027-01-01\n"))
	if err == nil || !strings.Contains(err.Error(), "catalog.yaml") || !strings.Contains(err.Error(), "expiresOn") {
		t.Fatalf("a misspelt field must be an error naming the file and field, got %v", err)
	}
}

func TestRoundTripIsStableAndSorted(t *testing.T) {
	c := &Catalog{Registry: "r"}
	c.Upsert(KindTask, "b", Version{Version: "0.10.0", Path: "tasks/b/0.10/b.yaml"})
	c.Upsert(KindTask, "b", Version{Version: "0.2.0", Path: "tasks/b/0.2/b.yaml"})
	c.Upsert(KindTask, "a", Version{Version: "0.1.0", Path: "tasks/a/0.1/a.yaml", Deprecated: true})
	c.Upsert(KindTask, "a", Version{Version: "0.1.0", Path: "tasks/a/0.1/a.yaml"}) // replaces
	path := filepath.Join(t.TempDir(), FileName)
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Tasks[0].Name != "a" || len(back.Tasks[0].Versions) != 1 || back.Tasks[0].Versions[0].Deprecated {
		t.Errorf("upsert did not replace: %+v", back.Tasks[0])
	}
	if v := back.Tasks[1].Versions; v[0].Version != "0.2.0" || v[1].Version != "0.10.0" {
		t.Errorf("versions not in numeric order: %+v", v)
	}
	b1, _ := c.Marshal()
	b2, _ := back.Marshal()
	if string(b1) != string(b2) {
		t.Error("the same catalog marshals to different bytes")
	}
	if latest := back.Tasks[1].Latest(); latest.Version != "0.10.0" {
		t.Errorf("latest = %s", latest.Version)
	}
}

func TestLatestSkipsDeprecated(t *testing.T) {
	e := Entry{Name: "x", Versions: []Version{{Version: "0.1.0"}, {Version: "0.2.0", Deprecated: true}}}
	if got := e.Latest().Version; got != "0.1.0" {
		t.Errorf("latest = %s, want the newest non-deprecated 0.1.0", got)
	}
}

func TestSemver(t *testing.T) {
	for v, want := range map[string]string{"0.1.0": "0.1", "1.12.3": "1.12", "01.1.0": "", "1.2": "", "1.2.x": ""} {
		got, ok := MajorMinor(v)
		if got != want || ok != (want != "") {
			t.Errorf("MajorMinor(%q) = %q, %v", v, got, ok)
		}
	}
}
