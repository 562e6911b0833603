package prefetch

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// GomodCacheDir is where, under the output directory, the Go modules are
// laid out as a GOMODCACHE (its cache/download is what `go mod download`
// fills).
const GomodCacheDir = "deps/gomod/pkg/mod"

// goSumEntry is one module version of go.sum with the hashes pinned for
// it: the zip's (h1: dirhash of its files) and the go.mod's.
type goSumEntry struct {
	Path, Version string
	ZipHash       string // "" when go.sum pins only the go.mod
	ModHash       string
}

// parseGoSum reads go.sum. A line is "path version[/go.mod] hash"; the
// file is named in every error.
func parseGoSum(name string, data []byte) (map[module.Version]*goSumEntry, error) {
	out := map[module.Version]*goSumEntry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want \"module version hash\", got %q", name, n, line)
		}
		path, version, hash := f[0], f[1], f[2]
		isMod := strings.HasSuffix(version, "/go.mod")
		version = strings.TrimSuffix(version, "/go.mod")
		if err := module.Check(path, version); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if _, err := h1Hex(hash); err != nil {
			return nil, fmt.Errorf("%s:%d: %s %s: %w", name, n, path, version, err)
		}
		mv := module.Version{Path: path, Version: version}
		e := out[mv]
		if e == nil {
			e = &goSumEntry{Path: path, Version: version}
			out[mv] = e
		}
		if isMod {
			e.ModHash = hash
		} else {
			e.ZipHash = hash
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// h1Hex turns "h1:<base64 sha256>" into hex, for the cache key.
func h1Hex(h string) (string, error) {
	b64, ok := strings.CutPrefix(h, "h1:")
	if !ok {
		return "", fmt.Errorf("hash %q: only h1: hashes are known", h)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("hash %q is not a base64 SHA-256", h)
	}
	return hex.EncodeToString(b), nil
}

// planGomod reads go.mod and go.sum in dir and lists the downloads. Every
// requirement of go.mod (after replacements by other modules) must be in
// go.sum; a requirement replaced by a local directory is part of the
// source and needs nothing.
func planGomod(srcDir, rel, stage string, proxy string) ([]download, []*component, error) {
	dir := filepath.Join(srcDir, filepath.FromSlash(rel))
	gomodName := filepath.ToSlash(filepath.Join(rel, "go.mod"))
	gosumName := filepath.ToSlash(filepath.Join(rel, "go.sum"))
	mf, sums, err := readGoModAndSum(dir, gomodName, gosumName)
	if err != nil {
		return nil, nil, err
	}
	if err := checkRequirementsPinned(mf, sums, gosumName); err != nil {
		return nil, nil, err
	}
	var downloads []download
	var comps []*component
	for _, mv := range sortedModuleVersions(sums) {
		e := sums[mv]
		loc, err := proxyLocation(mv, gosumName, stage, proxy)
		if err != nil {
			return nil, nil, err
		}
		if e.ModHash != "" {
			downloads = append(downloads, goModDownload(loc, e.ModHash))
		}
		if e.ZipHash != "" {
			d := moduleZipDownload(mv, loc, e.ZipHash)
			comps = append(comps, d.comp)
			downloads = append(downloads, d)
		}
	}
	return downloads, comps, nil
}

// readGoModAndSum reads go.mod and go.sum in dir; go.sum may be absent
// (a module without dependencies has none).
func readGoModAndSum(dir, gomodName, gosumName string) (*modfile.File, map[module.Version]*goSumEntry, error) {
	modData, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return nil, nil, fmt.Errorf("gomod: %w", err)
	}
	mf, err := modfile.ParseLax(gomodName, modData, nil)
	if err != nil {
		return nil, nil, err
	}
	sumData, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, fmt.Errorf("gomod: %w", err)
	}
	sums, err := parseGoSum(gosumName, sumData)
	if err != nil {
		return nil, nil, err
	}
	return mf, sums, nil
}

// checkRequirementsPinned fails with every requirement of go.mod, as
// replaced, whose go.mod hash go.sum does not pin.
func checkRequirementsPinned(mf *modfile.File, sums map[module.Version]*goSumEntry, gosumName string) error {
	replaced := map[module.Version]module.Version{}
	replacedAny := map[string]module.Version{}
	for _, r := range mf.Replace {
		if r.Old.Version == "" {
			replacedAny[r.Old.Path] = r.New
		} else {
			replaced[r.Old] = r.New
		}
	}
	var unpinned []string
	for _, r := range mf.Require {
		mv := r.Mod
		if nv, ok := replaced[mv]; ok {
			mv = nv
		} else if nv, ok := replacedAny[mv.Path]; ok {
			mv = nv
		}
		if mv.Version == "" {
			continue // a local directory
		}
		if e := sums[mv]; e == nil || e.ModHash == "" {
			unpinned = append(unpinned, mv.Path+" "+mv.Version)
		}
	}
	if len(unpinned) > 0 {
		return &UnpinnedError{File: gosumName, Packages: unpinned}
	}
	return nil
}

// sortedModuleVersions orders go.sum's modules by path, then version, so
// the downloads and the SBOM do not depend on map order.
func sortedModuleVersions(sums map[module.Version]*goSumEntry) []module.Version {
	keys := make([]module.Version, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Path != keys[j].Path {
			return keys[i].Path < keys[j].Path
		}
		return keys[i].Version < keys[j].Version
	})
	return keys
}

// moduleLocation is where one module version's files come from and go,
// each without its extension (.mod, .zip).
type moduleLocation struct {
	what    string // "path version", for messages
	url     string // on the proxy
	dest    string // in the staged GOMODCACHE's cache/download
	zipFile string // the zip relative to the output directory, for the SBOM
}

// proxyLocation escapes mv as the module proxy protocol and GOMODCACHE
// both spell it; go.sum is named in the error of a path or version that
// cannot be.
func proxyLocation(mv module.Version, gosumName, stage, proxy string) (moduleLocation, error) {
	ep, err := module.EscapePath(mv.Path)
	if err != nil {
		return moduleLocation{}, fmt.Errorf("%s: %w", gosumName, err)
	}
	ev, err := module.EscapeVersion(mv.Version)
	if err != nil {
		return moduleLocation{}, fmt.Errorf("%s: %w", gosumName, err)
	}
	return moduleLocation{
		what:    mv.Path + " " + mv.Version,
		url:     proxy + "/" + ep + "/@v/" + ev,
		dest:    filepath.Join(stage, filepath.FromSlash(GomodCacheDir), "cache", "download", filepath.FromSlash(ep), "@v", ev),
		zipFile: filepath.ToSlash(filepath.Join(GomodCacheDir, "cache", "download", ep, "@v", ev+".zip")),
	}, nil
}

// goModDownload fetches the module's go.mod, pinned by go.sum's
// "/go.mod" hash.
func goModDownload(loc moduleLocation, want string) download {
	hx, _ := h1Hex(want)
	return download{
		what: loc.what + " (go.mod)", url: loc.url + ".mod", dest: loc.dest + ".mod",
		cacheKey: "h1mod/" + hx,
		verify: func(p string) error {
			got, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return os.Open(p) })
			if err != nil {
				return err
			}
			if got != want {
				return &ChecksumError{What: loc.what + " (go.mod)", URL: loc.url + ".mod", Want: want, Got: got}
			}
			return nil
		},
	}
}

// moduleZipDownload fetches the module's zip, pinned by go.sum's hash of
// its files; the zip is the SBOM component.
func moduleZipDownload(mv module.Version, loc moduleLocation, want string) download {
	hx, _ := h1Hex(want)
	what, zipURL := loc.what, loc.url+".zip"
	c := &component{
		kind: TypeGomod, name: mv.Path, version: mv.Version,
		purl:        goPURL(mv),
		downloadURL: zipURL,
		file:        loc.zipFile,
		pin:         want,
	}
	return download{
		what: what, url: zipURL, dest: loc.dest + ".zip",
		cacheKey: "h1/" + hx,
		verify: func(p string) error {
			// CheckZip rejects what the go command would refuse to
			// extract (paths outside the module, duplicates, size
			// limits) before the hash is compared.
			if _, err := modzip.CheckZip(mv, p); err != nil {
				return fmt.Errorf("%s: %s is not a valid module zip: %w", what, zipURL, err)
			}
			got, err := dirhash.HashZip(p, dirhash.Hash1)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if got != want {
				return &ChecksumError{What: what, URL: zipURL, Want: want, Got: got}
			}
			return nil
		},
		after: func() error {
			// What `go mod download` writes beside the zip: its hash
			// (so the go command need not hash it again) and an info
			// file naming the version. The info's time is not pinned
			// by go.sum, so it is left out rather than trusted.
			if err := os.WriteFile(loc.dest+".ziphash", []byte(want), 0o644); err != nil {
				return err
			}
			info, _ := json.Marshal(struct{ Version string }{mv.Version})
			return os.WriteFile(loc.dest+".info", info, 0o644)
		},
		comp: c,
	}
}
func goPURL(mv module.Version) string {
	return "pkg:golang/" + purlPath(mv.Path) + "@" + purlEscape(mv.Version)
}
