package osvdb

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/osv-scalibr/semantic"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
)

// formatVersion changes whenever the compiled layout or the compile rules
// change, so an old cache is never read by a newer scanner.
const formatVersion = 5

// ErrNoDatabase is returned when the directory holds no OSV database.
var ErrNoDatabase = errors.New("no OSV database")

// Index is the compiled database: advisories reduced to what matching and
// reporting need, and the affected entries keyed by ecosystem and package.
// An index read from the cache decodes each package and advisory on first
// use; it is safe for concurrent use.
type Index struct {
	Fingerprint string
	Ecosystems  []string // directory names found, e.g. "Go", "AlmaLinux"

	// Compiled in memory:
	vulns    []Vuln
	packages map[string][]Entry // key: Key(ecosystem, name)
	// Or read from the cache:
	lazy *lazy
}

// NumVulns is the number of advisories.
func (ix *Index) NumVulns() int {
	if ix.lazy != nil {
		return len(ix.lazy.vulnDir)
	}
	return len(ix.vulns)
}

// NumPackages is the number of distinct (ecosystem, package) keys.
func (ix *Index) NumPackages() int {
	if ix.lazy != nil {
		return len(ix.lazy.pkgs)
	}
	return len(ix.packages)
}

// Vuln returns advisory i (an Entry's Vuln).
func (ix *Index) Vuln(i int32) *Vuln {
	if ix.lazy != nil {
		return ix.lazy.vuln(i)
	}
	return &ix.vulns[i]
}

// Err reports a corrupt blob met while decoding a cached index lazily.
func (ix *Index) Err() error {
	if ix.lazy == nil {
		return nil
	}
	ix.lazy.mu.Lock()
	defer ix.lazy.mu.Unlock()
	return ix.lazy.err
}

// Vuln is one advisory as reported.
type Vuln struct {
	ID        string
	Aliases   []string
	Related   []string
	Summary   string
	URL       string
	Published string
	Modified  string
	Rating    cvss.Rating
	Score     float64 // 0 when there is no vector
	Vector    string  // the CVSS vector the rating comes from, if any
}

// Entry is one affected package of one advisory.
type Entry struct {
	Vuln     int32
	Ranges   []Range // SEMVER and ECOSYSTEM ranges only; events in version order
	Versions []string
	// GOOS limits a Go advisory to these target systems (from
	// ecosystem_specific.imports[].goos); empty means every system.
	GOOS []string
}

// Key is the index key of a package in an ecosystem (with its release, as
// in "AlmaLinux:9").
func Key(ecosystem, name string) string { return ecosystem + "\x00" + name }

// Lookup returns the affected entries of a package.
func (ix *Index) Lookup(ecosystem, name string) []Entry {
	if ix.lazy != nil {
		return ix.lazy.lookup(Key(ecosystem, name))
	}
	return ix.packages[Key(ecosystem, name)]
}

type options struct {
	cacheDir string
	progress io.Writer
}

// Option configures Open.
type Option func(*options)

// WithCacheDir keeps the compiled index in dir and reuses it while the
// database is unchanged. Default: no cache (compile on every Open).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithProgress writes progress lines for people to w. Default: silent.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// cacheFile is the compiled index inside the cache directory.
const cacheFile = "osv-index.bin"

// Open loads the database in dir, from the compiled cache when it is
// current.
func Open(dir string, opts ...Option) (*Index, error) {
	o := options{progress: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	start := time.Now()
	srcs, err := sources(dir)
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint(srcs)
	if err != nil {
		return nil, err
	}
	if o.cacheDir != "" {
		ix, err := readCache(filepath.Join(o.cacheDir, cacheFile), fp)
		if err == nil {
			fmt.Fprintf(o.progress, "osv: index %s is current (%d advisories, loaded in %s)\n",
				filepath.Join(o.cacheDir, cacheFile), ix.NumVulns(), time.Since(start).Round(time.Millisecond))
			return ix, nil
		}
		fmt.Fprintf(o.progress, "osv: compiling index (%v)\n", err)
	}
	ix, err := compile(srcs, o.progress)
	if err != nil {
		return nil, err
	}
	ix.Fingerprint = fp
	fmt.Fprintf(o.progress, "osv: compiled %d advisories, %d packages from %s in %s\n",
		ix.NumVulns(), ix.NumPackages(), dir, time.Since(start).Round(time.Millisecond))
	if o.cacheDir != "" {
		if err := writeCache(o.cacheDir, ix); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// source is one ecosystem folder: either an all.zip or loose JSON files.
type source struct {
	ecosystem string
	zip       string   // path of all.zip, or ""
	files     []string // JSON files when there is no all.zip
}

func sources(dir string) ([]source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %w", ErrNoDatabase, dir, err)
	}
	var out []source
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		eco := filepath.Join(dir, e.Name())
		s := source{ecosystem: e.Name()}
		if st, err := os.Stat(filepath.Join(eco, "all.zip")); err == nil && st.Mode().IsRegular() {
			s.zip = filepath.Join(eco, "all.zip")
		} else {
			err := filepath.WalkDir(eco, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && strings.HasSuffix(p, ".json") {
					s.files = append(s.files, p)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("reading OSV database %s: %w", eco, err)
			}
			if len(s.files) == 0 {
				continue
			}
			sort.Strings(s.files)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in %s: want <Ecosystem>/all.zip or <Ecosystem>/*.json", ErrNoDatabase, dir)
	}
	return out, nil
}

// fingerprint identifies the database content by the path, size and
// modification time of every file (as make does): hashing 10 MB of zips
// on every scan would cost more than loading the compiled index.
func fingerprint(srcs []source) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "format %d\n", formatVersion)
	for _, s := range srcs {
		fmt.Fprintf(h, "eco %s\n", s.ecosystem)
		files := s.files
		if s.zip != "" {
			files = []string{s.zip}
		}
		for _, p := range files {
			st, err := os.Stat(p)
			if err != nil {
				return "", fmt.Errorf("reading OSV database: %w", err)
			}
			abs, _ := filepath.Abs(p)
			fmt.Fprintf(h, "%s %d %d\n", abs, st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readCache(path, fp string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("no cached index yet")
		}
		return nil, err
	}
	return decodeFile(data, fp)
}

// writeCache writes to a temporary file and renames it, so a concurrent
// scan never reads half an index.
func writeCache(dir string, ix *Index) error {
	data, err := encodeIndex(ix)
	if err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("index cache %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".osv-index-*")
	if err != nil {
		return fmt.Errorf("index cache %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("index cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, cacheFile)); err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	return nil
}

// rawRecord is a record's bytes and where they came from, for errors.
type rawRecord struct {
	where string
	data  []byte
}

func compile(srcs []source, progress io.Writer) (*Index, error) {
	ix := &Index{packages: map[string][]Entry{}}
	for _, s := range srcs {
		ix.Ecosystems = append(ix.Ecosystems, s.ecosystem)
		raws, err := readSource(s)
		if err != nil {
			return nil, err
		}
		recs, err := parseAll(raws)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			ix.add(r)
		}
		fmt.Fprintf(progress, "osv: %s: %d records\n", s.ecosystem, len(recs))
	}
	return ix, nil
}

func readSource(s source) ([]rawRecord, error) {
	var raws []rawRecord
	if s.zip != "" {
		zr, err := zip.OpenReader(s.zip)
		if err != nil {
			return nil, fmt.Errorf("OSV database %s is corrupt: %w", s.zip, err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("OSV database %s: entry %s: %w", s.zip, f.Name, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("OSV database %s is corrupt: entry %s: %w", s.zip, f.Name, err)
			}
			raws = append(raws, rawRecord{where: s.zip + ":" + f.Name, data: b})
		}
		if len(raws) == 0 {
			return nil, fmt.Errorf("OSV database %s holds no JSON records", s.zip)
		}
		return raws, nil
	}
	for _, p := range s.files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("OSV database: %w", err)
		}
		raws = append(raws, rawRecord{where: p, data: b})
	}
	return raws, nil
}

// parseAll parses records on every CPU; the first error (in file order)
// wins.
func parseAll(raws []rawRecord) ([]*Record, error) {
	recs := make([]*Record, len(raws))
	errs := make([]error, len(raws))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := Parse(raws[i].data)
				if err != nil {
					errs[i] = fmt.Errorf("OSV database record %s: %w", raws[i].where, err)
					continue
				}
				recs[i] = r
			}
		}()
	}
	for i := range raws {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (ix *Index) add(r *Record) {
	if r.Withdrawn != "" {
		return
	}
	v := Vuln{
		ID:        r.ID,
		Aliases:   nilIfEmpty(r.Aliases),
		Related:   nilIfEmpty(r.Related),
		Summary:   r.Summary,
		Published: r.Published,
		Modified:  r.Modified,
		URL:       advisoryURL(r),
	}
	v.Rating, v.Score, v.Vector = Rate(r)
	idx := int32(len(ix.vulns))
	added := false
	for _, a := range r.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			continue
		}
		e := Entry{Vuln: idx, GOOS: goosOf(a.EcosystemSpecific)}
		if len(a.Versions) > 0 {
			e.Versions = a.Versions
		}
		for _, rg := range a.Ranges {
			if rg.Type == "GIT" {
				continue // commit ranges cannot be compared with package versions
			}
			e.Ranges = append(e.Ranges, Range{Type: rg.Type, Events: sortEvents(rg.Events, a.Package.Ecosystem)})
		}
		if len(e.Ranges) == 0 && len(e.Versions) == 0 {
			continue
		}
		k := Key(a.Package.Ecosystem, a.Package.Name)
		ix.packages[k] = append(ix.packages[k], e)
		added = true
	}
	if added {
		ix.vulns = append(ix.vulns, v)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// goosOf returns the systems a Go advisory is limited to: the union of
// its imports' goos lists, or nil when any import applies everywhere.
func goosOf(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var es struct {
		Imports []struct {
			GOOS []string `json:"goos"`
		} `json:"imports"`
	}
	if json.Unmarshal(raw, &es) != nil || len(es.Imports) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, im := range es.Imports {
		if len(im.GOOS) == 0 {
			return nil
		}
		for _, g := range im.GOOS {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sortEvents puts events in version order (introduced "0" first), which
// the OSV evaluation algorithm needs; records are not required to list
// them sorted. Versions the ecosystem cannot parse keep their place.
func sortEvents(events []Event, ecosystem string) []Event {
	out := append([]Event(nil), events...)
	ver := func(e Event) string {
		switch {
		case e.Introduced != "":
			return e.Introduced
		case e.Fixed != "":
			return e.Fixed
		case e.LastAffected != "":
			return e.LastAffected
		}
		return e.Limit
	}
	parsed := make([]semantic.Version, len(out))
	for i, e := range out {
		if ver(e) == "0" {
			continue
		}
		p, err := semantic.Parse(ver(e), ecosystem)
		if err != nil {
			return out
		}
		parsed[i] = p
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		pa, pb := parsed[idx[a]], parsed[idx[b]]
		if pa == nil || pb == nil {
			return pa == nil && pb != nil
		}
		c, err := pa.Compare(pb)
		return err == nil && c < 0
	})
	sorted := make([]Event, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

func advisoryURL(r *Record) string {
	var ds struct {
		URL string `json:"url"`
	}
	if len(r.DatabaseSpecific) > 0 && json.Unmarshal(r.DatabaseSpecific, &ds) == nil && ds.URL != "" {
		return ds.URL
	}
	for _, ref := range r.References {
		if ref.Type == "ADVISORY" {
			return ref.URL
		}
	}
	if len(r.References) > 0 {
		return r.References[0].URL
	}
	return ""
}

// Rate gives the record's severity: from its CVSS vectors when it has any
// (the newest CVSS version wins, then the highest score), else from the
// record's own rating (database_specific.severity, an affected entry's
// severity field, or a "Important: ..." summary prefix as Red Hat-derived
// advisories write it), else unknown.
func Rate(r *Record) (cvss.Rating, float64, string) {
	var vectors []string
	for _, s := range r.Severity {
		vectors = append(vectors, s.Score)
	}
	for _, a := range r.Affected {
		for _, s := range a.Severity {
			vectors = append(vectors, s.Score)
		}
	}
	best, bestScore, bestVer := "", -1.0, ""
	for _, v := range vectors {
		s, err := cvss.Score(v)
		if err != nil {
			continue
		}
		ver, _, _ := strings.Cut(v, "/")
		if ver > bestVer || (ver == bestVer && s > bestScore) {
			best, bestScore, bestVer = v, s, ver
		}
	}
	if best != "" {
		return cvss.FromScore(bestScore), bestScore, best
	}
	if r := ownRating(r); r != cvss.Unknown {
		return r, 0, ""
	}
	return cvss.Unknown, 0, ""
}

func ownRating(r *Record) cvss.Rating {
	var ds struct {
		Severity any `json:"severity"`
	}
	fromRaw := func(raw json.RawMessage) cvss.Rating {
		ds.Severity = nil
		if len(raw) == 0 || json.Unmarshal(raw, &ds) != nil {
			return cvss.Unknown
		}
		if s, ok := ds.Severity.(string); ok {
			if rt, ok := cvss.ParseRating(s); ok {
				return rt
			}
		}
		return cvss.Unknown
	}
	if rt := fromRaw(r.DatabaseSpecific); rt != cvss.Unknown {
		return rt
	}
	for _, a := range r.Affected {
		if rt := fromRaw(a.EcosystemSpecific); rt != cvss.Unknown {
			return rt
		}
		if rt := fromRaw(a.DatabaseSpecific); rt != cvss.Unknown {
			return rt
		}
	}
	if prefix, _, ok := strings.Cut(r.Summary, ":"); ok {
		if rt, ok := cvss.ParseRating(prefix); ok && prefix != "" {
			return rt
		}
	}
	return cvss.Unknown
}
