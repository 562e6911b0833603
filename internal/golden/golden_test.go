package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder stands in for the test a golden file is checked in, to see
// whether Check failed it.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.failed = true }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = true }
func (r *recorder) Fatal(a ...any)                 { r.failed = true }

func TestCheck(t *testing.T) {
	// Check's own cases must compare, even in a `go test ./... -update`.
	was := *update
	*update = false
	t.Cleanup(func() { *update = was })
	path := filepath.Join(t.TempDir(), "out.golden")
	if err := os.WriteFile(path, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, got string
		fail            bool
	}{
		{"equal", path, "same\n", false},
		{"different", path, "other\n", true},
		{"missing golden file", path + ".missing", "same\n", true},
	} {
		r := &recorder{TB: t}
		Check(r, tc.path, []byte(tc.got))
		if r.failed != tc.fail {
			t.Errorf("%s: failed = %v, want %v", tc.name, r.failed, tc.fail)
		}
	}
}
