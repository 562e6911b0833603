package results

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteIsExactAndAtomic(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "results")}
	if err := d.Write("IMAGE_DIGEST", "sha256:abc"); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteJSON("TEST_OUTPUT", map[string]int{"failures": 0}); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Read("IMAGE_DIGEST"); v != "sha256:abc" {
		t.Errorf("IMAGE_DIGEST = %q", v)
	}
	if v, _ := d.Read("TEST_OUTPUT"); v != `{"failures":0}` {
		t.Errorf("TEST_OUTPUT = %q", v)
	}
	entries, _ := os.ReadDir(d.Path)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestRejectsBadNames(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	for _, name := range []string{"", "../escape", "a/b", "1abc"} {
		if err := d.Write(name, "x"); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

func TestZeroDirWritesNothing(t *testing.T) {
	if err := (Dir{}).Write("x", "y"); err != nil {
		t.Fatal(err)
	}
}
