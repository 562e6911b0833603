package tekton

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// YAMLFiles lists the .yaml and .yml files at path: path itself when it is
// a file, else every one under the directory, sorted.
func YAMLFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
