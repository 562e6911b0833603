package provenance

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// findUp walks up from the working directory to the first directory
// holding rel, and fails the test if there is none.
func findUp(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("%s not found above the working directory (CI must lay ../shared beside the repository)", rel)
		}
		dir = parent
	}
}

// validate checks doc against a schema in shared/schemas.
func validate(t *testing.T, schema string, doc []byte) {
	t.Helper()
	sharedtest.Validate(t, sharedtest.Schema(t, schema), "statement", doc)
}
