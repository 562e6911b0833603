// Package publish keeps catalog.yaml in step with the tree (Sync) and
// publishes the library (Publish): step images built from the binaries in
// bin/, their digests pinned into the task YAMLs, one Tekton bundle per
// task and pipeline version, signed, and every digest recorded in
// catalog.yaml with its publication history.
package publish

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// DefaultRegistry is where a new catalog publishes to.
const DefaultRegistry = "ghcr.io/trustline-dev"

// Item is one task or pipeline version found in the tree.
type Item struct {
	Kind       string // catalog.KindTask or catalog.KindPipeline
	Name       string
	Version    string
	Path       string // relative to the root, slash-separated
	StepImages []string
	Content    string // catalog.ContentDigest of the file
}

// Tree lists every task and pipeline version under root, in a stable
// order. A file that does not load, or lacks its version label, is an
// error naming the file: the catalog must not record what Tekton rejects.
func Tree(root string) ([]Item, error) {
	var out []Item
	for _, kind := range []string{catalog.KindTask, catalog.KindPipeline} {
		matches, err := filepath.Glob(filepath.Join(root, catalog.KindDir(kind), "*", "*", "*.yaml"))
		if err != nil {
			return nil, err
		}
		sort.Strings(matches)
		for _, f := range matches {
			rel, _ := filepath.Rel(root, f)
			rel = filepath.ToSlash(rel)
			l, ok := catalog.ParseLocation(rel)
			if !ok || !l.IsDefinition() {
				continue // not <name>/<version>/<name>.yaml; validate reports it
			}
			it, err := readItem(root, rel, kind, l.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, it)
		}
	}
	return out, nil
}

func readItem(root, rel, kind, name string) (Item, error) {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return Item{}, err
	}
	docs, problems := tekton.Parse(rel, b)
	if len(problems) > 0 {
		return Item{}, problems
	}
	if len(docs) != 1 {
		return Item{}, fmt.Errorf("%s: holds %d documents, want one %s", rel, len(docs), kind)
	}
	it := Item{Kind: kind, Name: name, Path: rel}
	switch obj := docs[0].Object.(type) {
	case *v1.Task:
		if kind != catalog.KindTask {
			return Item{}, fmt.Errorf("%s: a Task under pipelines/", rel)
		}
		it.Version, it.StepImages = obj.Labels[catalog.VersionLabel], tekton.StepImages(obj)
	case *v1.Pipeline:
		if kind != catalog.KindPipeline {
			return Item{}, fmt.Errorf("%s: a Pipeline under tasks/", rel)
		}
		it.Version = obj.Labels[catalog.VersionLabel]
	default:
		return Item{}, fmt.Errorf("%s: not a Task or Pipeline", rel)
	}
	if _, _, _, ok := catalog.ParseSemver(it.Version); !ok {
		return Item{}, fmt.Errorf("%s: metadata.labels.%s: %q is not a MAJOR.MINOR.PATCH version", rel, catalog.VersionLabel, it.Version)
	}
	if it.Content, err = catalog.ContentDigest(b); err != nil {
		return Item{}, fmt.Errorf("%s: %w", rel, err)
	}
	return it, nil
}

// ErrChangedWithoutVersion is returned (wrapped) by Sync when a published
// version's YAML changed but its version did not.
var ErrChangedWithoutVersion = errors.New("changed without a new version")

// Change is one thing Sync did to the catalog.
type Change struct {
	Kind, Name, Version string
	What                string
}

func (c Change) String() string {
	return fmt.Sprintf("%ss[%s] %s: %s", c.Kind, c.Name, c.Version, c.What)
}

// SyncCatalog brings c in step with the tree items: new versions are
// added with their step images and content digest; a directory whose
// version label moved forward (0.1.0 → 0.1.1) keeps its catalog entry and
// publication history under the new version; an unpublished version may
// change freely, but a published one whose content changed under the same
// version is an error; entries whose file is gone are dropped unless
// published (then validate keeps reporting them: deprecate instead).
func SyncCatalog(c *catalog.Catalog, items []Item) ([]Change, error) {
	var changes []Change
	var errs []error
	present := map[string]bool{}
	for _, it := range items {
		present[it.Path] = true
		v := c.FindFunc(it.Kind, it.Name, func(v *catalog.Version) bool { return v.Path == it.Path })
		if v == nil {
			c.Upsert(it.Kind, it.Name, catalog.Version{Version: it.Version, Path: it.Path, StepImages: it.StepImages, ContentDigest: it.Content})
			changes = append(changes, Change{it.Kind, it.Name, it.Version, "added"})
			continue
		}
		switch {
		case v.Version == it.Version:
			if v.ContentDigest != "" && v.ContentDigest != it.Content && len(v.Published) > 0 {
				errs = append(errs, fmt.Errorf("%s: %w: version %s was published with content %s, the file is now %s; "+
					"bump %s and add a `## <new version>` entry to CHANGELOG.md",
					it.Path, ErrChangedWithoutVersion, it.Version, v.ContentDigest, it.Content, catalog.VersionLabel))
				continue
			}
			var what []string
			if v.ContentDigest != it.Content {
				what = append(what, "content recorded")
			}
			if strings.Join(v.StepImages, ",") != strings.Join(it.StepImages, ",") {
				what = append(what, "step images updated")
			}
			if len(what) > 0 {
				v.ContentDigest, v.StepImages = it.Content, it.StepImages
				changes = append(changes, Change{it.Kind, it.Name, it.Version, strings.Join(what, ", ")})
			}
		case catalog.SemverLess(v.Version, it.Version):
			old := v.Version
			v.Version, v.ContentDigest, v.StepImages = it.Version, it.Content, it.StepImages
			changes = append(changes, Change{it.Kind, it.Name, it.Version, "moved from " + old})
		default:
			errs = append(errs, fmt.Errorf("%s: version %s is older than %s recorded in catalog.yaml", it.Path, it.Version, v.Version))
		}
	}
	for _, kind := range []string{catalog.KindTask, catalog.KindPipeline} {
		list := &c.Tasks
		if kind == catalog.KindPipeline {
			list = &c.Pipelines
		}
		kept := (*list)[:0]
		for _, e := range *list {
			vs := e.Versions[:0]
			for _, v := range e.Versions {
				if present[v.Path] || len(v.Published) > 0 {
					vs = append(vs, v)
					continue
				}
				changes = append(changes, Change{kind, e.Name, v.Version, "removed (" + v.Path + " is gone)"})
			}
			e.Versions = vs
			if len(vs) > 0 {
				kept = append(kept, e)
			}
		}
		*list = kept
	}
	if c.Tasks == nil {
		c.Tasks = []catalog.Entry{}
	}
	if c.Pipelines == nil {
		c.Pipelines = []catalog.Entry{}
	}
	return changes, errors.Join(errs...)
}

// LoadCatalog reads root/catalog.yaml, or starts an empty one.
func LoadCatalog(root string) (*catalog.Catalog, error) {
	c, err := catalog.Load(filepath.Join(root, catalog.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return &catalog.Catalog{Registry: DefaultRegistry, Tasks: []catalog.Entry{}, Pipelines: []catalog.Entry{}}, nil
	}
	return c, err
}

// Sync records every task and pipeline version of the tree under root in
// its catalog.yaml and saves it (nothing is written on error).
func Sync(root string, progress io.Writer) ([]Change, error) {
	return sync(root, progress, true)
}

// Check is Sync without writing: the changes Sync would make (none when
// the catalog is in step with the tree), for CI.
func Check(root string, progress io.Writer) ([]Change, error) {
	return sync(root, progress, false)
}

func sync(root string, progress io.Writer, save bool) ([]Change, error) {
	if progress == nil {
		progress = io.Discard
	}
	_, c, changes, err := loadSynced(root)
	if err != nil {
		return nil, err
	}
	for _, ch := range changes {
		fmt.Fprintln(progress, ch)
	}
	if !save {
		return changes, nil
	}
	return changes, c.Save(filepath.Join(root, catalog.FileName))
}

// loadSynced reads the tree under root and its catalog.yaml, and brings
// the catalog (in memory) in step with the tree.
func loadSynced(root string) ([]Item, *catalog.Catalog, []Change, error) {
	items, err := Tree(root)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := LoadCatalog(root)
	if err != nil {
		return nil, nil, nil, err
	}
	changes, err := SyncCatalog(c, items)
	if err != nil {
		return nil, nil, nil, err
	}
	return items, c, changes, nil
}
