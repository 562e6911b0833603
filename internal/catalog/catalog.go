// Package catalog reads and writes catalog.yaml, the index of every task and
// pipeline version this repository ships: where its YAML lives, the bundle
// it was published as, the step images it runs (by digest), and whether it
// is deprecated or expires. Policy trusts exactly the bundles listed here
// (trustline catalog trusted-tasks), and trustline validate fails when the
// catalog and the tree disagree.
package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/outfile"
)

// FileName is the catalog's name at the repository root.
const FileName = "catalog.yaml"

// Kinds of catalog entries, as directory names at the repository root.
const (
	KindTask     = "task"
	KindPipeline = "pipeline"
)

// Catalog is the whole catalog.yaml.
type Catalog struct {
	// Registry is the repository prefix bundles and step images are
	// published under (REGISTRY/task-<name>, REGISTRY/step-<name>).
	Registry  string  `json:"registry"`
	Tasks     []Entry `json:"tasks"`
	Pipelines []Entry `json:"pipelines"`
}

// Entry is one task or pipeline with all its versions, oldest first.
type Entry struct {
	Name     string    `json:"name"`
	Versions []Version `json:"versions"`
}

// Version is one released version of a task or pipeline.
type Version struct {
	// Version is the full semantic version, as in the
	// app.kubernetes.io/version label.
	Version string `json:"version"`
	// Path is the YAML file, relative to the repository root.
	Path string `json:"path"`
	// Bundle is the published bundle, REPO:TAG@sha256:..., empty until
	// trustline catalog publish has run.
	Bundle string `json:"bundle,omitempty"`
	// StepImages are the images the version's steps run, by digest.
	StepImages []string `json:"step_images,omitempty"`
	// Published records every bundle digest pushed for this version, so a
	// superseded digest stays trusted for a grace period.
	Published []Publication `json:"published,omitempty"`
	// Deprecated marks a version users should move away from; Replacement
	// names what to use instead.
	Deprecated  bool   `json:"deprecated,omitempty"`
	Replacement string `json:"replacement,omitempty"`
	// ExpiresOn (RFC 3339 date) is when policy stops trusting the version.
	ExpiresOn string `json:"expires_on,omitempty"`
	// ContentDigest is ContentDigest of the YAML when this version was
	// recorded (trustline catalog sync or publish): trustline validate
	// fails when the YAML changes while the version stays the same.
	ContentDigest string `json:"content_digest,omitempty"`
}

// Publication is one bundle digest pushed for a version.
type Publication struct {
	Digest string `json:"digest"`
	// On is when it was published (RFC 3339).
	On string `json:"on"`
	// SupersededOn is when a newer digest of the same version replaced it.
	SupersededOn string `json:"superseded_on,omitempty"`
	// Version is the full version the digest was published as (a
	// directory's version moves from 0.1.0 to 0.1.1; its bundle tag, the
	// major.minor, stays).
	Version string `json:"version,omitempty"`
	// Commit is the source revision the bundle was built from.
	Commit string `json:"commit,omitempty"`
	// YAMLDigest is the sha256 of the YAML file exactly as bundled (step
	// images and task bundles pinned), so publish knows when nothing
	// changed and pushes nothing.
	YAMLDigest string `json:"yaml_digest,omitempty"`
	// Includes are the pinned references the YAML held when bundled: a
	// pipeline's task bundles, a task's step images. trustline catalog
	// outdated compares them to say what a digest-only update changed.
	Includes []string `json:"includes,omitempty"`
}

// Load reads a catalog file, rejecting unknown fields so a typo (say
// expiresOn for expires_on) is an error rather than silently ignored.
func Load(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse decodes catalog YAML; name is used in errors.
func Parse(name string, b []byte) (*Catalog, error) {
	var c Catalog
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

const header = "# trustline catalog: every task and pipeline version in this repository.\n" +
	"# trustline validate checks it against the tree; trustline catalog publish\n" +
	"# fills in bundles and step image digests.\n"

// Marshal encodes the catalog with entries sorted by name and versions in
// order, so the same catalog always gives the same bytes.
func (c *Catalog) Marshal() ([]byte, error) {
	c.sort()
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	return append([]byte(header), b...), nil
}

// Save writes the catalog atomically.
func (c *Catalog) Save(path string) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	return outfile.Write(path, b)
}

func (c *Catalog) sort() {
	for _, list := range [][]Entry{c.Tasks, c.Pipelines} {
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		for k := range list {
			vs := list[k].Versions
			sort.SliceStable(vs, func(i, j int) bool { return SemverLess(vs[i].Version, vs[j].Version) })
		}
	}
}

// Entries returns the task or pipeline entries.
func (c *Catalog) Entries(kind string) []Entry {
	if kind == KindPipeline {
		return c.Pipelines
	}
	return c.Tasks
}

// Find returns the version entry of a task or pipeline, or nil.
func (c *Catalog) Find(kind, name, version string) *Version {
	return c.FindFunc(kind, name, func(v *Version) bool { return v.Version == version })
}

// FindFunc returns the first version entry of a task or pipeline that
// match accepts, or nil.
func (c *Catalog) FindFunc(kind, name string, match func(*Version) bool) *Version {
	list := c.Entries(kind)
	for i := range list {
		if list[i].Name != name {
			continue
		}
		for j := range list[i].Versions {
			if match(&list[i].Versions[j]) {
				return &list[i].Versions[j]
			}
		}
	}
	return nil
}

// Upsert adds or replaces a version entry and returns a pointer to it.
func (c *Catalog) Upsert(kind, name string, v Version) *Version {
	list := &c.Tasks
	if kind == KindPipeline {
		list = &c.Pipelines
	}
	for i := range *list {
		e := &(*list)[i]
		if e.Name != name {
			continue
		}
		for j := range e.Versions {
			if e.Versions[j].Version == v.Version {
				e.Versions[j] = v
				return &e.Versions[j]
			}
		}
		e.Versions = append(e.Versions, v)
		return &e.Versions[len(e.Versions)-1]
	}
	*list = append(*list, Entry{Name: name, Versions: []Version{v}})
	last := &(*list)[len(*list)-1]
	return &last.Versions[0]
}

// Latest returns the newest version of a task or pipeline that is not
// deprecated, or the newest of all if every one is.
func (e Entry) Latest() *Version {
	var best *Version
	for i := range e.Versions {
		v := &e.Versions[i]
		switch {
		case best == nil:
			best = v
		case best.Deprecated && !v.Deprecated:
			best = v
		case best.Deprecated == v.Deprecated && SemverLess(best.Version, v.Version):
			best = v
		}
	}
	return best
}

// Dir returns the directory of a version's YAML, relative to the root.
func (v Version) Dir() string { return filepath.Dir(v.Path) }
