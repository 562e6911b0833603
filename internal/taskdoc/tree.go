package taskdoc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// readmeName is the README beside each version's YAML, and the
// repository's own at the root.
const readmeName = "README.md"

// Readme renders what the README beside a task or pipeline file should
// hold, given the current README (for its kept text). Other kinds have no
// README (nil).
func Readme(d *tekton.Document, existing []byte) []byte {
	src := WithSourceName(filepath.Base(d.File))
	switch obj := d.Object.(type) {
	case *v1.Task:
		return Task(obj, existing, src)
	case *v1.Pipeline:
		return Pipeline(obj, existing, src)
	}
	return nil
}

// WriteReadmes regenerates the README of every task and pipeline version
// under root, and the table in root's README.md, returning the files it
// changed relative to root. A file that does not hold exactly one
// resource is left for trustline validate to report.
func WriteReadmes(ctx context.Context, root string) ([]string, error) {
	files, err := catalog.TreeFiles(root)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, f := range files {
		if _, ok := catalog.ParseLocation(rel(root, f)); !ok {
			continue
		}
		docs, _, err := tekton.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if len(docs) != 1 || docs[0].Object == nil {
			continue // validate reports it
		}
		docs[0].Validate(ctx) // applies defaults, as the README shows them
		readme := filepath.Join(filepath.Dir(f), readmeName)
		existing, _ := os.ReadFile(readme)
		want := Readme(docs[0], existing)
		if bytes.Equal(want, existing) {
			continue
		}
		if err := os.WriteFile(readme, want, 0o644); err != nil {
			return nil, err
		}
		changed = append(changed, rel(root, readme))
	}
	readme, want, err := RepositoryReadme(root)
	if err != nil || want == nil {
		return changed, err
	}
	if old, _ := os.ReadFile(readme); !bytes.Equal(old, want) {
		if err := os.WriteFile(readme, want, 0o644); err != nil {
			return nil, err
		}
		changed = append(changed, rel(root, readme))
	}
	return changed, nil
}

// RepositoryReadme returns the path of root's README.md and its content
// with the table of tasks and pipelines regenerated, or nil content when
// there is no README or it has no table markers.
func RepositoryReadme(root string) (path string, content []byte, err error) {
	path = filepath.Join(root, readmeName)
	readme, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return path, nil, nil
	}
	if err != nil {
		return path, nil, err
	}
	files, err := catalog.TreeFiles(root)
	if err != nil {
		return path, nil, err
	}
	var rows []IndexRow
	for _, f := range files {
		l, ok := catalog.ParseLocation(rel(root, f))
		if !ok {
			continue
		}
		docs, _, err := tekton.ReadFile(f)
		if err != nil {
			return path, nil, err
		}
		if len(docs) != 1 {
			continue
		}
		row := IndexRow{Kind: l.Kind, Name: l.Name, ReadmePath: filepath.ToSlash(filepath.Join(filepath.Dir(rel(root, f)), readmeName))}
		switch obj := docs[0].Object.(type) {
		case *v1.Task:
			row.Version, row.Description = obj.Labels[catalog.VersionLabel], obj.Spec.Description
		case *v1.Pipeline:
			row.Version, row.Description = obj.Labels[catalog.VersionLabel], obj.Spec.Description
		default:
			continue
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Kind > rows[j].Kind }) // tasks, then pipelines
	out, ok := ReplaceIndex(readme, Index(rows))
	if !ok {
		return path, nil, nil
	}
	return path, out, nil
}

// rel is path relative to root, slash-separated; TreeFiles' paths all
// start with root.
func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}
