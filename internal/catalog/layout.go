package catalog

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/trustline-dev/trustline/internal/tekton"
)

// The library's tree keeps each version of a task or pipeline in a
// directory of its own, <kind>s/<name>/<major.minor>/, holding
// <name>.yaml beside its README.md and CHANGELOG.md, as the Tekton catalog
// does (docs/task-conventions.md). The functions below are the only place
// that spells that layout: validate checks it, publish and the catalog read
// the tree with it, and the local runner finds a taskRef's file with it.

// VersionLabel holds a task's or pipeline's full semantic version; its
// MAJOR.MINOR names the version directory.
const VersionLabel = "app.kubernetes.io/version"

// KindDir is the directory at the repository root that holds a kind's
// versions: "tasks" or "pipelines".
func KindDir(kind string) string { return kind + "s" }

// DefinitionFile is the name of the YAML file in a version directory of
// name: <name>.yaml.
func DefinitionFile(name string) string { return name + ".yaml" }

// DefinitionPath is <name>/<version>/<name>.yaml, slash-separated and
// relative to a kind's directory (a local task library is one).
func DefinitionPath(name, version string) string {
	return path.Join(name, version, DefinitionFile(name))
}

// Location is where a file sits in the tree.
type Location struct {
	Kind    string // KindTask or KindPipeline
	Name    string // the <name> directory
	Version string // the <major.minor> directory
	File    string // the file's name in the version directory
}

// ParseLocation recognises <kind>s/<name>/<version>/<file>, a path
// relative to the repository root. Any other path is not in the tree.
func ParseLocation(rel string) (Location, bool) {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) != 4 {
		return Location{}, false
	}
	for _, kind := range []string{KindTask, KindPipeline} {
		if parts[0] == KindDir(kind) {
			return Location{Kind: kind, Name: parts[1], Version: parts[2], File: parts[3]}, true
		}
	}
	return Location{}, false
}

// IsDefinition reports whether the file is the version's YAML,
// <name>.yaml, rather than another file beside it.
func (l Location) IsDefinition() bool { return l.File == DefinitionFile(l.Name) }

// TreeFiles lists the YAML files under root's tasks/ and then pipelines/,
// each sorted, wherever they sit (ParseLocation tells those in their place
// from the others); a missing directory holds none.
func TreeFiles(root string) ([]string, error) {
	var files []string
	for _, kind := range []string{KindTask, KindPipeline} {
		fs, err := tekton.YAMLFiles(filepath.Join(root, KindDir(kind)))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}
