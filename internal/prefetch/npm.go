package prefetch

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// NPMCacheDir is the npm cache (npm_config_cache) under the output
// directory. npm keeps its content-addressed store in _cacache inside it;
// `npm ci` reads a tarball from there by the lockfile's integrity alone
// when the lockfile also gives it a resolved URL, so the step writes only
// content, never npm's index.
const NPMCacheDir = "deps/npm"

// npmLock is what the step reads of package-lock.json (lockfileVersion 2
// or 3: the "packages" map).
type npmLock struct {
	LockfileVersion int                       `json:"lockfileVersion"`
	Packages        map[string]npmLockPackage `json:"packages"`
}

type npmLockPackage struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Resolved  string `json:"resolved"`
	Integrity string `json:"integrity"`
	Link      bool   `json:"link"`
	InBundle  bool   `json:"inBundle"`
}

// sri is the strongest hash of a Subresource Integrity string.
type sri struct {
	algo   string // sha512, sha384, sha256 or sha1
	digest []byte
}

var sriStrength = map[string]int{"sha1": 1, "sha256": 2, "sha384": 3, "sha512": 4}

// parseSRI picks the strongest known hash of an integrity string, as npm
// does when it checks a tarball.
func parseSRI(s string) (sri, error) {
	var best sri
	for _, tok := range strings.Fields(s) {
		algo, b64, ok := strings.Cut(tok, "-")
		if !ok {
			continue
		}
		if i := strings.IndexByte(b64, '?'); i >= 0 {
			b64 = b64[:i] // SRI options
		}
		if sriStrength[algo] <= sriStrength[best.algo] {
			continue
		}
		d, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(d) != newHash(algo).Size() {
			return sri{}, fmt.Errorf("integrity %q: bad %s digest", s, algo)
		}
		best = sri{algo: algo, digest: d}
	}
	if best.algo == "" {
		return sri{}, fmt.Errorf("integrity %q has no sha512, sha384, sha256 or sha1 hash", s)
	}
	return best, nil
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	default:
		return sha512.New()
	}
}

func (s sri) String() string { return s.algo + "-" + base64.StdEncoding.EncodeToString(s.digest) }

// fileDigest hashes the file with algo (sha1, sha256, sha384, sha512).
func fileDigest(p, algo string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := newHash(algo)
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// npmNameFromKey is the package name of a "packages" key:
// "node_modules/a/node_modules/@s/b" is "@s/b".
func npmNameFromKey(key string) string {
	i := strings.LastIndex(key, "node_modules/")
	if i < 0 {
		return ""
	}
	return key[i+len("node_modules/"):]
}

// planNPM reads package-lock.json in dir. A package without a resolved URL
// comes from registry. Every package installed from a
// registry or URL must carry an integrity hash; links and workspace
// folders are part of the source, bundled packages come inside their
// parent's tarball.
func planNPM(srcDir, rel, stage, registry string) ([]download, []*component, func() error, error) {
	name := filepath.ToSlash(filepath.Join(rel, "package-lock.json"))
	lockPath := filepath.Join(srcDir, filepath.FromSlash(rel), "package-lock.json")
	lock, err := readNPMLock(lockPath, name)
	if err != nil {
		return nil, nil, nil, err
	}
	pl := &npmPlan{stage: stage, registry: registry, seen: map[string]*component{}, filled: map[string]string{}}
	for _, key := range slices.Sorted(maps.Keys(lock.Packages)) {
		pl.add(key, lock.Packages[key])
	}
	if len(pl.unpinned) > 0 {
		return nil, nil, nil, &UnpinnedError{File: name, Packages: pl.unpinned, Why: "not pinned by a checksum (no resolved URL and integrity)"}
	}
	if len(pl.bad) > 0 {
		return nil, nil, nil, fmt.Errorf("%s: %s", name, strings.Join(pl.bad, "; "))
	}
	var finish func() error
	if len(pl.filled) > 0 {
		finish = func() error { return fillResolved(lockPath, name, pl.filled) }
	}
	return pl.downloads, pl.comps, finish, nil
}

// readNPMLock reads the lockfile at lockPath, named name in errors, and
// refuses one too old to list every package with its integrity.
func readNPMLock(lockPath, name string) (*npmLock, error) {
	data, err := os.ReadFile(lockPath)
	if err != nil {
		return nil, fmt.Errorf("npm: %w", err)
	}
	var lock npmLock
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if lock.LockfileVersion < 2 || lock.Packages == nil {
		return nil, fmt.Errorf("%s: lockfileVersion %d has no \"packages\": regenerate it with npm 7 or later (lockfileVersion 2 or 3)", name, lock.LockfileVersion)
	}
	return &lock, nil
}

// npmPlan gathers, entry by entry, what a lockfile asks for, and every
// entry that is not pinned or not fetchable, so that all of them are
// reported at once.
type npmPlan struct {
	stage, registry string
	unpinned, bad   []string
	downloads       []download
	comps           []*component
	seen            map[string]*component // by integrity
	filled          map[string]string     // resolved URLs the lockfile left out, by key
}

// add plans the lockfile entry key.
func (pl *npmPlan) add(key string, p npmLockPackage) {
	pkgName := npmNameFromKey(key)
	if key == "" || pkgName == "" || p.Link || p.InBundle {
		return
	}
	if p.Name != "" {
		pkgName = p.Name // an alias installs another package
	}
	what := pkgName + "@" + p.Version + " (" + key + ")"
	if strings.HasPrefix(p.Resolved, "file:") {
		return // a tarball or folder in the source
	}
	if p.Resolved == "" && p.Integrity != "" && p.Version != "" && !strings.ContainsAny(p.Version, ":/") {
		// npm leaves registry URLs out of the lockfile with
		// omit-lockfile-registry-resolved; the tarball is then the
		// registry's, still pinned by its integrity.
		p.Resolved = pl.registry + "/" + pkgName + "/-/" + path.Base(pkgName) + "-" + p.Version + ".tgz"
		pl.filled[key] = p.Resolved
	}
	if p.Resolved == "" || p.Integrity == "" {
		pl.unpinned = append(pl.unpinned, what)
		return
	}
	u, err := url.Parse(p.Resolved)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		pl.bad = append(pl.bad, what+": resolved "+p.Resolved+" is not an http(s) URL")
		return
	}
	pin, err := parseSRI(p.Integrity)
	if err != nil {
		pl.bad = append(pl.bad, what+": "+err.Error())
		return
	}
	if c := pl.seen[pin.String()]; c != nil {
		return // the same tarball, installed at two places
	}
	c := npmComponent(pkgName, p.Version, p.Resolved, pin)
	pl.seen[pin.String()] = c
	pl.comps = append(pl.comps, c)
	pl.downloads = append(pl.downloads, npmDownload(what, p.Resolved, pin, c, pl.stage))
}

// npmComponent is the tarball as the SBOM lists it, at its place in npm's
// content-addressed cache.
func npmComponent(pkgName, version, resolved string, pin sri) *component {
	hx := hex.EncodeToString(pin.digest)
	return &component{
		kind: TypeNPM, name: pkgName, version: version,
		purl:        npmPURL(pkgName, version),
		downloadURL: resolved,
		file:        filepath.ToSlash(filepath.Join(NPMCacheDir, "_cacache", "content-v2", pin.algo, hx[:2], hx[2:4], hx[4:])),
		pin:         pin.String(),
		extraHashes: map[string]string{pin.algo: hx},
	}
}

// npmDownload fetches the tarball of c from resolved and checks it
// against the integrity pin.
func npmDownload(what, resolved string, pin sri, c *component, stage string) download {
	return download{
		what: what, url: resolved, dest: filepath.Join(stage, filepath.FromSlash(c.file)),
		cacheKey: pin.algo + "/" + hex.EncodeToString(pin.digest),
		verify: func(path string) error {
			got, err := fileDigest(path, pin.algo)
			if err != nil {
				return err
			}
			if string(got) != string(pin.digest) {
				return &ChecksumError{What: what, URL: resolved, Want: pin.String(),
					Got: pin.algo + "-" + base64.StdEncoding.EncodeToString(got)}
			}
			return nil
		},
		comp: c,
	}
}

func npmPURL(name, version string) string {
	if scope, n, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		return "pkg:npm/%40" + purlEscape(scope[1:]) + "/" + purlEscape(n) + "@" + purlEscape(version)
	}
	return "pkg:npm/" + purlEscape(name) + "@" + purlEscape(version)
}

// fillResolved writes the registry URLs the step used into the lockfile's
// entries that had none, as Hermeto does: `npm ci --offline` reads a
// tarball from the cache by its integrity only when the lockfile also
// names where it came from (without, npm asks the registry for the
// package's metadata first). Only "resolved" fields are added; integrity
// and versions are unchanged.
func fillResolved(lockPath, name string, filled map[string]string) error {
	data, err := os.ReadFile(lockPath)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var pkgs map[string]map[string]json.RawMessage
	if err := json.Unmarshal(top["packages"], &pkgs); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for key, u := range filled {
		b, _ := json.Marshal(u)
		pkgs[key]["resolved"] = b
	}
	if top["packages"], err = json.Marshal(pkgs); err != nil {
		return err
	}
	out, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		return err
	}
	tmp := lockPath + ".prefetch-tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, lockPath)
}
