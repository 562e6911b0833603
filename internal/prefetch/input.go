package prefetch

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/trustline-dev/trustline/internal/jsondoc"
)

// Package types the step knows, as Hermeto names them.
const (
	TypeGomod   = "gomod"
	TypeNPM     = "npm"
	TypePip     = "pip"
	TypeGeneric = "generic"
)

// Package is one entry of the input: a package manager and the directory,
// relative to the source, whose lockfile it reads.
type Package struct {
	// Type is gomod, npm, pip or generic.
	Type string `json:"type"`
	// Path is the directory holding the lockfile, relative to the source
	// root. Default ".".
	Path string `json:"path,omitempty"`
	// RequirementsFiles (pip) are the requirements files, relative to
	// Path. Default requirements.txt.
	RequirementsFiles []string `json:"requirements_files,omitempty"`
	// Lockfile (generic) is the artifacts lockfile, relative to Path.
	// Default artifacts.lock.yaml.
	Lockfile string `json:"lockfile,omitempty"`
}

// ParseInput reads the prefetch input in Hermeto's shapes: a bare type
// ("gomod"), one JSON object ({"type":"gomod","path":"."}), a JSON array of
// them, or {"packages":[…]}. Paths must stay inside the source.
func ParseInput(s string) ([]Package, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("prefetch input is empty")
	}
	var pkgs []Package
	switch s[0] {
	case '[':
		if err := jsondoc.Strict([]byte(s), &pkgs); err != nil {
			return nil, fmt.Errorf("prefetch input: %w", err)
		}
	case '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &probe); err != nil {
			return nil, fmt.Errorf("prefetch input: %w", err)
		}
		if _, ok := probe["packages"]; ok {
			var wrapped struct {
				Packages []Package `json:"packages"`
				Flags    []string  `json:"flags,omitempty"`
			}
			if err := jsondoc.Strict([]byte(s), &wrapped); err != nil {
				return nil, fmt.Errorf("prefetch input: %w", err)
			}
			pkgs = wrapped.Packages
		} else {
			var p Package
			if err := jsondoc.Strict([]byte(s), &p); err != nil {
				return nil, fmt.Errorf("prefetch input: %w", err)
			}
			pkgs = []Package{p}
		}
	default:
		pkgs = []Package{{Type: s}}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("prefetch input lists no packages")
	}
	for i := range pkgs {
		if err := pkgs[i].normalize(); err != nil {
			return nil, fmt.Errorf("prefetch input, package %d: %w", i, err)
		}
	}
	return pkgs, nil
}

func (p *Package) normalize() error {
	switch p.Type {
	case TypeGomod, TypeNPM, TypePip, TypeGeneric:
	case "":
		return fmt.Errorf("no \"type\" (want gomod, npm, pip or generic)")
	default:
		return fmt.Errorf("type %q: want gomod, npm, pip or generic", p.Type)
	}
	if p.Path == "" {
		p.Path = "."
	}
	clean, err := insidePath("path", p.Path)
	if err != nil {
		return err
	}
	p.Path = clean
	if p.Type != TypePip && len(p.RequirementsFiles) > 0 {
		return fmt.Errorf("requirements_files is for pip packages, not %s", p.Type)
	}
	if p.Type != TypeGeneric && p.Lockfile != "" {
		return fmt.Errorf("lockfile is for generic packages, not %s", p.Type)
	}
	if p.Type == TypePip && len(p.RequirementsFiles) == 0 {
		p.RequirementsFiles = []string{"requirements.txt"}
	}
	for i, f := range p.RequirementsFiles {
		if p.RequirementsFiles[i], err = insidePath("requirements_files", f); err != nil {
			return err
		}
	}
	if p.Type == TypeGeneric {
		if p.Lockfile == "" {
			p.Lockfile = "artifacts.lock.yaml"
		}
		if p.Lockfile, err = insidePath("lockfile", p.Lockfile); err != nil {
			return err
		}
	}
	return nil
}

// insidePath cleans a relative, slash-separated path and rejects one that
// is absolute or climbs out with "..".
func insidePath(field, p string) (string, error) {
	if strings.Contains(p, "\\") || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%s %q: use forward slashes", field, p)
	}
	if path.IsAbs(p) {
		return "", fmt.Errorf("%s %q must be relative to the source directory", field, p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s %q leaves the source directory", field, p)
	}
	return c, nil
}
