package osvdb

import (
	"archive/zip"
	"bytes"
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

// ErrNoDatabase is returned when the directory holds no OSV database.
var ErrNoDatabase = errors.New("no OSV database")

// Index is the compiled database: advisories reduced to what matching and
// reporting need, and the affected entries keyed by ecosystem and package.
// Opened for a set of packages (WithPackages), it holds only the
// advisories that name one of them. It is read-only once opened.
type Index struct {
	Ecosystems []string // directory names found, e.g. "Go", "AlmaLinux"

	vulns    []Vuln
	packages map[string][]Entry // key: Key(ecosystem, name)
}

// NumVulns is the number of advisories compiled.
func (ix *Index) NumVulns() int { return len(ix.vulns) }

// NumPackages is the number of distinct (ecosystem, package) keys compiled.
func (ix *Index) NumPackages() int { return len(ix.packages) }

// Vuln returns advisory i (an Entry's Vuln).
func (ix *Index) Vuln(i int32) *Vuln { return &ix.vulns[i] }

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
	return ix.packages[Key(ecosystem, name)]
}

// PackageRef names a package to open the index for.
type PackageRef struct {
	Ecosystem string // with its release, as in "AlmaLinux:9"
	Name      string
}

type options struct {
	cacheDirs []string
	packages  []PackageRef
	all       bool
	progress  io.Writer
}

// Option configures Open.
type Option func(*options)

// WithPackages compiles only the advisories that name one of pkgs, and
// reads only the ecosystems among them: what a scan of one SBOM needs.
// Default: every advisory of every ecosystem.
func WithPackages(pkgs []PackageRef) Option {
	return func(o *options) { o.packages, o.all = pkgs, false }
}

// WithCacheDir keeps, per ecosystem, an index of which records name
// which packages in the first of dirs that can be written, keyed by the
// database's content digest, so that a later Open WithPackages reads
// only the records it needs. Default: no cache.
func WithCacheDir(dirs ...string) Option {
	return func(o *options) { o.cacheDirs = dirs }
}

// WithProgress writes progress lines for people to w. Default: silent.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// Open loads the database in dir.
func Open(dir string, opts ...Option) (*Index, error) {
	o := options{progress: io.Discard, all: true}
	for _, opt := range opts {
		opt(&o)
	}
	start := time.Now()
	srcs, err := sources(dir)
	if err != nil {
		return nil, err
	}
	var ix *Index
	if o.all {
		ix, err = compile(srcs, o.progress)
	} else {
		ix, err = compileFor(srcs, o)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.progress, "osv: %d advisories, %d packages from %s in %s\n",
		ix.NumVulns(), ix.NumPackages(), dir, time.Since(start).Round(time.Millisecond))
	return ix, nil
}

// source is one ecosystem folder: either an all.zip or loose JSON files.
type source struct {
	ecosystem string
	zip       string   // path of all.zip, or ""
	files     []string // JSON files when there is no all.zip
}

// isDir says whether entry e of dir is a directory or a symbolic link to
// one: a database bound as a Kubernetes ConfigMap or Secret volume is
// <Ecosystem> -> ..data/<Ecosystem> links.
func isDir(dir string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir()
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}

func sources(dir string) ([]source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %w", ErrNoDatabase, dir, err)
	}
	var out []source
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !isDir(dir, e) {
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
		recs, err := compileAll(raws)
		if err != nil {
			return nil, err
		}
		for _, c := range recs {
			ix.add(c)
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
			if !isRecord(f) {
				continue
			}
			b, err := readEntry(s.zip, f, nil)
			if err != nil {
				return nil, err
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

// isRecord tells the zip entries that are OSV records.
func isRecord(f *zip.File) bool {
	return !f.FileInfo().IsDir() && strings.HasSuffix(f.Name, ".json")
}

// readEntry decompresses one zip entry, reusing buf's storage.
func readEntry(zipPath string, f *zip.File, buf []byte) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("OSV database %s: entry %s: %w", zipPath, f.Name, err)
	}
	defer rc.Close()
	if n := f.UncompressedSize64; n < 1<<30 && uint64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1)
	}
	b := bytes.NewBuffer(buf[:0])
	if _, err := b.ReadFrom(rc); err != nil {
		return nil, fmt.Errorf("OSV database %s is corrupt: entry %s: %w", zipPath, f.Name, err)
	}
	return b.Bytes(), nil
}

// compileAll parses and compiles records on every CPU; the first error
// (in file order) wins. Withdrawn records and records with nothing to
// match compile to nil.
func compileAll(raws []rawRecord) ([]*compiled, error) {
	out := make([]*compiled, len(raws))
	errs := make([]error, len(raws))
	parallel(len(raws), func(i int) {
		out[i], errs[i] = compileRaw(raws[i])
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func compileRaw(raw rawRecord) (*compiled, error) {
	r, err := Parse(raw.data)
	if err != nil {
		return nil, fmt.Errorf("OSV database record %s: %w", raw.where, err)
	}
	return compileRecord(r), nil
}

// parallel calls fn(0..n-1) on every CPU.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int, 64)
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// compiled is one record reduced to what the index keeps.
type compiled struct {
	vuln    Vuln
	entries []keyedEntry
}

type keyedEntry struct {
	key   string
	entry Entry
}

// compileRecord reduces a record to its advisory and affected entries, or
// nil when it is withdrawn or has nothing a package version can match.
func compileRecord(r *Record) *compiled {
	if r.Withdrawn != "" {
		return nil
	}
	c := &compiled{vuln: Vuln{
		ID:        r.ID,
		Aliases:   nilIfEmpty(r.Aliases),
		Related:   nilIfEmpty(r.Related),
		Summary:   r.Summary,
		Published: r.Published,
		Modified:  r.Modified,
		URL:       advisoryURL(r),
	}}
	c.vuln.Rating, c.vuln.Score, c.vuln.Vector = Rate(r)
	for _, a := range r.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			continue
		}
		e := Entry{GOOS: goosOf(a.EcosystemSpecific)}
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
		c.entries = append(c.entries, keyedEntry{key: Key(a.Package.Ecosystem, a.Package.Name), entry: e})
	}
	if len(c.entries) == 0 {
		return nil
	}
	return c
}

// add puts a compiled record into the index (nil is skipped).
func (ix *Index) add(c *compiled) {
	if c == nil {
		return
	}
	idx := int32(len(ix.vulns))
	for _, ke := range c.entries {
		e := ke.entry
		e.Vuln = idx
		ix.packages[ke.key] = append(ix.packages[ke.key], e)
	}
	ix.vulns = append(ix.vulns, c.vuln)
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
