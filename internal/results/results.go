// Package results writes Tekton task results: one file per result in the
// results directory, the value without a trailing newline, as the Tekton
// entrypoint reads them (/tekton/results by default).
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/trustline-dev/trustline/internal/outfile"
)

// DefaultDir is where Tekton mounts the results of the running step.
const DefaultDir = "/tekton/results"

// Tekton result names: alphanumerics, '-', '_' and '.', starting with a
// letter or underscore.
var validName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.-]*$`)

// Dir is a results directory. The zero value writes nothing, which lets a
// step run outside Tekton without results.
type Dir struct {
	Path string
}

// Write stores one result. It writes to a temporary file and renames it, so
// a reader never sees half a value.
func (d Dir) Write(name, value string) error {
	if d.Path == "" {
		return nil
	}
	if !validName.MatchString(name) {
		return fmt.Errorf("result name %q is not a valid Tekton result name", name)
	}
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return fmt.Errorf("results directory %s: %w", d.Path, err)
	}
	if err := outfile.Write(filepath.Join(d.Path, name), []byte(value)); err != nil {
		return fmt.Errorf("result %s: %w", name, err)
	}
	return nil
}

// WriteJSON stores a result as compact JSON (object results, TEST_OUTPUT,
// *_ARTIFACT_OUTPUTS).
func (d Dir) WriteJSON(name string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("result %s: %w", name, err)
	}
	return d.Write(name, string(b))
}

// Read returns one result written earlier (used by tests and the local
// runner).
func (d Dir) Read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(d.Path, name))
	return string(b), err
}
