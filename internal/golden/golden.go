// Package golden compares what a test produced with a golden file under
// testdata/, as go-containerregistry's and govulncheck's tests do. Run the
// tests with -update to rewrite the files, then review the diff: a golden
// file is only as good as that review.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is registered in every test binary that imports this package.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests produce")

// Check fails the test unless got equals the contents of the golden file
// at path; with -update it writes got there instead.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the test produced (go test -update to accept, then review the diff):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
