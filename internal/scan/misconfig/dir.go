package misconfig

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

var containerfileName = regexp.MustCompile(`(?i)^((containerfile|dockerfile)(\..+)?|.+\.(containerfile|dockerfile))$`)

// skipDirs are never configuration the project ships.
var skipDirs = map[string]bool{".git": true, "vendor": true, "node_modules": true}

// maxFileSize bounds what is read: configuration is small, and a huge
// YAML file in a source tree is data, not a manifest.
const maxFileSize = 4 << 20

// Result is what Dir found.
type Result struct {
	Findings []finding.Misconfiguration
	Files    int // files checked
	// Skipped lists files that could not be parsed (a Helm template is not
	// YAML until rendered), each with the reason.
	Skipped []string
}

// Dir checks every Containerfile and YAML file under root. Files are
// reported relative to root, with forward slashes (as SARIF wants).
func Dir(root string) (*Result, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("configuration source: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("configuration source %s is not a directory", root)
	}
	res := &Result{}
	var out []finding.Misconfiguration
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		name := d.Name()
		isCF := containerfileName.MatchString(name)
		isYAML := strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
		if !isCF && !isYAML {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > maxFileSize {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		var fs []finding.Misconfiguration
		if isCF {
			fs, err = CheckContainerfile(rel, data)
		} else {
			fs, err = CheckYAML(rel, data)
		}
		if err != nil {
			res.Skipped = append(res.Skipped, err.Error())
			return nil
		}
		res.Files++
		out = append(out, fs...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checking configuration in %s: %w", root, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	res.Findings = out
	return res, nil
}
