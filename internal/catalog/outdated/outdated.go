package outdated

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/outfile"
)

// Finding is one reference that needs attention.
type Finding struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Ref    string `json:"ref"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	// Version is the catalog version the digest was published as ("" if
	// the digest is unknown).
	Version string `json:"version,omitempty"`
	// Reasons say why: "newer", "superseded", "deprecated", "expiring",
	// "expired", "unknown".
	Reasons []string `json:"reasons"`
	Message string   `json:"message"`
	// Newest is the reference to use instead, NewestVersion its version
	// and NewestOn when it was published.
	Newest        string `json:"newest,omitempty"`
	NewestVersion string `json:"newest_version,omitempty"`
	NewestOn      string `json:"newest_on,omitempty"`
	// ExpiresOn is when policy stops trusting the reference, if it will.
	ExpiresOn string `json:"expires_on,omitempty"`
	// Changes are the CHANGELOG entries between the two versions.
	Changes []catalog.ChangelogEntry `json:"changes,omitempty"`
}

type options struct {
	root   string
	now    time.Time
	grace  time.Duration
	within time.Duration
	fix    bool
}

// Option configures Check and CheckFiles.
type Option func(*options)

// WithRoot is the library checkout CHANGELOG.md files are read from
// (default: the directory of the catalog file given to CheckFiles).
func WithRoot(dir string) Option { return func(o *options) { o.root = dir } }

// WithNow sets the time expiry is judged at (default time.Now).
func WithNow(t time.Time) Option { return func(o *options) { o.now = t } }

// WithGrace is how long a superseded digest stays trusted (default
// catalog.DefaultGrace, as trusted-tasks).
func WithGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithWithin reports references that expire within d (default 30 days);
// references with a later expiry are reported only if otherwise outdated.
func WithWithin(d time.Duration) Option { return func(o *options) { o.within = d } }

// WithFix makes CheckFiles rewrite each reference that has a newer bundle
// (default: only report). Check ignores it.
func WithFix(on bool) Option { return func(o *options) { o.fix = on } }

func makeOptions(opts []Option) *options {
	o := &options{now: time.Now(), grace: catalog.DefaultGrace, within: 30 * 24 * time.Hour}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// CheckFiles loads the catalog file and reports the outdated references
// in each file; with WithFix it also rewrites, atomically, every file in
// which a reference has a newer bundle. It returns the findings (as they
// were before any fix) and how many files it rewrote. A file that cannot
// be read stops it, after the rewrites already done.
func CheckFiles(catalogFile string, files []string, opts ...Option) ([]Finding, int, error) {
	c, err := catalog.Load(catalogFile)
	if err != nil {
		return nil, 0, err
	}
	opts = append([]Option{WithRoot(filepath.Dir(catalogFile))}, opts...)
	fix := makeOptions(opts).fix
	var all []Finding
	rewritten := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, rewritten, err
		}
		fs := Check(c, file, b, opts...)
		all = append(all, fs...)
		if !fix || len(fs) == 0 {
			continue
		}
		if nb := Fix(b, fs); !bytes.Equal(nb, b) {
			if err := outfile.Write(file, nb); err != nil {
				return nil, rewritten, err
			}
			rewritten++
		}
	}
	return all, rewritten, nil
}

// Check reports the outdated references in one file's content.
func Check(c *catalog.Catalog, file string, content []byte, opts ...Option) []Finding {
	o := makeOptions(opts)
	var out []Finding
	for _, f := range Scan(content) {
		if fd, ok := o.check(c, file, f); ok {
			out = append(out, fd)
		}
	}
	return out
}

func (o *options) check(c *catalog.Catalog, file string, f Found) (Finding, bool) {
	e := findEntry(c, f.Kind, f.Name)
	if e == nil {
		return Finding{}, false // not from this catalog
	}
	// Only references into the catalog's registry (or to a repository one
	// of its bundles was pushed to) are ours to judge.
	if !o.ours(c, e, f.Ref) {
		return Finding{}, false
	}
	fd := Finding{File: file, Line: f.Line, Column: f.Column, Ref: f.Text, Kind: f.Kind, Name: f.Name}
	latest := e.Latest()
	v, pub := findPublication(e, f.Digest)
	if latest != nil && latest.Bundle != "" {
		fd.Newest, fd.NewestVersion = latest.Bundle, latest.Version
		if n := len(latest.Published); n > 0 {
			fd.NewestOn = latest.Published[n-1].On
		}
	}
	if v == nil {
		fd.Reasons = []string{"unknown"}
		fd.Message = fmt.Sprintf("%s is not a digest the catalog published for %s %s: policy will not trust it", f.Digest, f.Kind, f.Name)
		return fd, true
	}
	published := pub.Version
	if published == "" {
		published = v.Version
	}
	fd.Version = published
	msgs := o.judge(&fd, v, pub, latest)
	if len(fd.Reasons) == 0 {
		return Finding{}, false
	}
	if latest != nil {
		fd.Changes = o.changesToLatest(c, latest, v, pub, published)
	}
	fd.Message = strings.Join(msgs, "; ")
	return fd, true
}

// findEntry is the catalog's entry of that kind and name (the last, should
// the catalog repeat it), or nil.
func findEntry(c *catalog.Catalog, kind, name string) *catalog.Entry {
	var e *catalog.Entry
	for i, en := range c.Entries(kind) {
		if en.Name == name {
			e = &c.Entries(kind)[i]
		}
	}
	return e
}

// findPublication is the version of e that published digest, and that
// publication (the last, should several), or nils.
func findPublication(e *catalog.Entry, digest string) (*catalog.Version, *catalog.Publication) {
	var v *catalog.Version
	var pub *catalog.Publication
	for i := range e.Versions {
		for j := range e.Versions[i].Published {
			if e.Versions[i].Published[j].Digest == digest {
				v, pub = &e.Versions[i], &e.Versions[i].Published[j]
			}
		}
	}
	return v, pub
}

// judge adds to fd the reasons its reference, to v published as pub,
// needs attention and when policy stops trusting it, and returns a message
// for each reason. An expiry far off is a reason only beside another.
func (o *options) judge(fd *Finding, v *catalog.Version, pub *catalog.Publication, latest *catalog.Version) []string {
	var msgs []string
	if pub.SupersededOn != "" {
		fd.Reasons = append(fd.Reasons, "superseded")
		msgs = append(msgs, "superseded on "+day(pub.SupersededOn))
	}
	if latest != nil && latest.Bundle != "" && catalog.SemverLess(fd.Version, latest.Version) {
		fd.Reasons = append(fd.Reasons, "newer")
		msgs = append(msgs, fmt.Sprintf("%s %s is newer (published %s)", fd.Name, latest.Version, day(fd.NewestOn)))
	}
	if v.Deprecated {
		fd.Reasons = append(fd.Reasons, "deprecated")
		m := "version " + v.Version + " is deprecated"
		if v.Replacement != "" {
			m += ": use " + v.Replacement
		}
		msgs = append(msgs, m)
	}
	if exp := o.expiry(v, pub); !exp.IsZero() {
		fd.ExpiresOn = exp.UTC().Format(time.DateOnly)
		switch {
		case !o.now.Before(exp):
			fd.Reasons = append(fd.Reasons, "expired")
			msgs = append(msgs, "no longer trusted since "+fd.ExpiresOn)
		case exp.Sub(o.now) <= o.within || len(fd.Reasons) > 0:
			fd.Reasons = append(fd.Reasons, "expiring")
			msgs = append(msgs, "trusted only until "+fd.ExpiresOn)
		}
	}
	return msgs
}

// changesToLatest are the CHANGELOG entries from published, the version
// pub was published as, to latest, then what moved among the bundles and
// images latest's newest publication includes.
func (o *options) changesToLatest(c *catalog.Catalog, latest, v *catalog.Version, pub *catalog.Publication, published string) []catalog.ChangelogEntry {
	changes := o.changes(latest, v, published)
	if n := len(latest.Published); n > 0 {
		changes = append(changes, o.includedChanges(c, pub.Includes, latest.Published[n-1].Includes)...)
	}
	return changes
}

func (o *options) ours(c *catalog.Catalog, e *catalog.Entry, r Ref) bool {
	if r.Repo == catalog.BundleRepo(c.Registry, r.Kind, r.Name) {
		return true
	}
	for _, v := range e.Versions {
		if repo, _, ok := strings.Cut(v.Bundle, "@"); ok {
			if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
				repo = repo[:i]
			}
			if repo == r.Repo {
				return true
			}
		}
	}
	return false
}

// expiry follows catalog.TrustedTasks: the version's expiry, capped for a
// superseded digest at superseded_on plus the grace period.
func (o *options) expiry(v *catalog.Version, p *catalog.Publication) time.Time {
	var exp time.Time
	if v.ExpiresOn != "" {
		exp, _ = catalog.ParseDate(v.ExpiresOn)
	}
	if p.SupersededOn != "" {
		if s, err := catalog.ParseDate(p.SupersededOn); err == nil {
			if end := s.Add(o.grace); exp.IsZero() || end.Before(exp) {
				exp = end
			}
		}
	}
	return exp
}

// changes reads the CHANGELOG entries newer than from, from the newest
// version's directory and the old one's (a new minor version's CHANGELOG
// may start afresh).
func (o *options) changes(latest, old *catalog.Version, from string) []catalog.ChangelogEntry {
	if o.root == "" {
		return nil
	}
	var out []catalog.ChangelogEntry
	seen := map[string]bool{}
	for _, v := range []*catalog.Version{latest, old} {
		b, err := os.ReadFile(filepath.Join(o.root, filepath.FromSlash(v.Dir()), catalog.ChangelogFile))
		if err != nil {
			continue
		}
		for _, e := range catalog.Since(catalog.ParseChangelog(b), from) {
			if !seen[e.Version] && !catalog.SemverLess(latest.Version, e.Version) {
				seen[e.Version] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// includedChanges explains a digest-only update of a pipeline (or task):
// for every task bundle it includes whose digest moved, the task's
// CHANGELOG entries between the two versions; for a step image, that it
// was rebuilt.
func (o *options) includedChanges(c *catalog.Catalog, old, cur []string) []catalog.ChangelogEntry {
	byRepo := func(refs []string) map[string]string {
		m := map[string]string{}
		for _, r := range refs {
			repo, digest, ok := strings.Cut(r, "@")
			if ok {
				m[repo] = digest
			}
		}
		return m
	}
	was, now := byRepo(old), byRepo(cur)
	var out []catalog.ChangelogEntry
	for _, repo := range slices.Sorted(maps.Keys(now)) {
		prev, ok := was[repo]
		if !ok || prev == now[repo] {
			continue
		}
		if r, err := ParseRef(repo + "@" + now[repo]); err == nil {
			from, to := o.versionOf(c, r.Kind, r.Name, prev), o.versionOf(c, r.Kind, r.Name, now[repo])
			entries := []catalog.ChangelogEntry{{Version: fmt.Sprintf("%s %s → %s", r.Name, orDash(from), orDash(to)), Notes: "- new bundle digest " + now[repo]}}
			if from != "" && to != "" {
				for _, e := range o.taskChangelog(c, r.Kind, r.Name, from, to) {
					e.Version = r.Name + " " + e.Version
					entries = append(entries, e)
				}
				if len(entries) > 1 {
					entries = entries[1:]
				}
			}
			out = append(out, entries...)
			continue
		}
		name := repo[strings.LastIndex(repo, "/")+1:]
		out = append(out, catalog.ChangelogEntry{Version: name, Notes: "- rebuilt: " + now[repo]})
	}
	return out
}

func (o *options) versionOf(c *catalog.Catalog, kind, name, digest string) string {
	for _, e := range c.Entries(kind) {
		if e.Name != name {
			continue
		}
		for _, v := range e.Versions {
			for _, p := range v.Published {
				if p.Digest == digest {
					if p.Version != "" {
						return p.Version
					}
					return v.Version
				}
			}
		}
	}
	return ""
}

func (o *options) taskChangelog(c *catalog.Catalog, kind, name, from, to string) []catalog.ChangelogEntry {
	if o.root == "" {
		return nil
	}
	var out []catalog.ChangelogEntry
	seen := map[string]bool{}
	for _, e := range c.Entries(kind) {
		if e.Name != name {
			continue
		}
		for _, v := range e.Versions {
			b, err := os.ReadFile(filepath.Join(o.root, filepath.FromSlash(v.Dir()), catalog.ChangelogFile))
			if err != nil {
				continue
			}
			for _, ce := range catalog.Since(catalog.ParseChangelog(b), from) {
				if !seen[ce.Version] && !catalog.SemverLess(to, ce.Version) {
					seen[ce.Version] = true
					out = append(out, ce)
				}
			}
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
func day(s string) string {
	if t, err := catalog.ParseDate(s); err == nil {
		return t.UTC().Format(time.DateOnly)
	}
	return s
}

// Fix rewrites every finding that has a newer reference in content and
// returns the new content. Findings must come from Check on the same
// content.
func Fix(content []byte, findings []Finding) []byte {
	lines := bytes.Split(content, []byte("\n"))
	// Right to left within a line, so earlier columns stay valid.
	for i := len(findings) - 1; i >= 0; i-- {
		f := findings[i]
		if f.Newest == "" || f.Newest == f.Ref || f.Line < 1 || f.Line > len(lines) {
			continue
		}
		l := lines[f.Line-1]
		start := f.Column - 1
		if start < 0 || start+len(f.Ref) > len(l) || string(l[start:start+len(f.Ref)]) != f.Ref {
			continue
		}
		nl := append([]byte{}, l[:start]...)
		nl = append(nl, f.Newest...)
		nl = append(nl, l[start+len(f.Ref):]...)
		lines[f.Line-1] = nl
	}
	return bytes.Join(lines, []byte("\n"))
}

// ErrOutdated is returned by CheckFiles when something needs attention.
var ErrOutdated = errors.New("outdated bundle references")
