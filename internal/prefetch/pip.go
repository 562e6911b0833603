package prefetch

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/net/html"
)

// PipDir holds the wheels and sdists, for pip's --find-links.
const PipDir = "deps/pip"

// pipRequirement is one pinned line of a requirements file.
type pipRequirement struct {
	name    string // normalized (PEP 503)
	version string
	hashes  []string // sha256 hex
	line    int
}

var (
	pipNameRe      = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([A-Za-z0-9][A-Za-z0-9.!+_-]*)$`)
	pipNormalizeRe = regexp.MustCompile(`[-_.]+`)
)

func normalizePipName(n string) string {
	return strings.ToLower(pipNormalizeRe.ReplaceAllString(n, "-"))
}

// parseRequirements reads a requirements file in pip's hash-checking
// form: every requirement "name==version" with at least one
// --hash=sha256:…. Comments, blank lines and backslash continuations are
// allowed; other options (-r, -e, --index-url…) are refused, as are
// unpinned or unhashed requirements, each named.
func parseRequirements(name string, data []byte) ([]pipRequirement, error) {
	var reqs []pipRequirement
	var unpinned []string
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + lines[i]
		}
		line = strings.TrimSuffix(line, "\\")
		if j := strings.Index(line, " #"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "-") {
			return nil, fmt.Errorf("%s:%d: option %q is not supported: list every requirement with its hashes", name, start, strings.Fields(line)[0])
		}
		// Environment markers decide where it installs, not what is
		// fetched: every pinned file is fetched.
		spec, opts, _ := strings.Cut(line, " --")
		if k := strings.IndexByte(spec, ';'); k >= 0 {
			spec = spec[:k]
		}
		spec = strings.TrimSpace(spec)
		m := pipNameRe.FindStringSubmatch(spec)
		if m == nil {
			unpinned = append(unpinned, fmt.Sprintf("%q (line %d: want name==version)", spec, start))
			continue
		}
		r := pipRequirement{name: normalizePipName(m[1]), version: m[3], line: start}
		if opts != "" {
			for _, f := range strings.Fields("--" + opts) {
				v, ok := strings.CutPrefix(f, "--hash=")
				if !ok {
					if strings.HasPrefix(f, "--") {
						return nil, fmt.Errorf("%s:%d: %s: option %q is not supported", name, start, r.name, f)
					}
					continue
				}
				hx, ok := strings.CutPrefix(v, "sha256:")
				if b, err := hex.DecodeString(hx); !ok || err != nil || len(b) != 32 {
					return nil, fmt.Errorf("%s:%d: %s: hash %q: want sha256:<64 hex digits>", name, start, r.name, v)
				}
				r.hashes = append(r.hashes, strings.ToLower(hx))
			}
		}
		if len(r.hashes) == 0 {
			unpinned = append(unpinned, fmt.Sprintf("%s==%s (line %d)", r.name, r.version, start))
			continue
		}
		reqs = append(reqs, r)
	}
	if len(unpinned) > 0 {
		return nil, &UnpinnedError{File: name, Packages: unpinned, Why: "not pinned by a version and a --hash"}
	}
	return reqs, nil
}

// indexLink is one file of a simple-index page.
type indexLink struct {
	url      string
	filename string
	sha256   string
}

// parseSimpleIndex reads a PEP 503 project page: anchors whose href ends
// in #sha256=<hex>. Relative links are resolved against the page.
func parseSimpleIndex(page *url.URL, body []byte) []indexLink {
	var out []indexLink
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		t := z.Token()
		if t.Data != "a" {
			continue
		}
		for _, a := range t.Attr {
			if a.Key != "href" {
				continue
			}
			u, err := page.Parse(a.Val)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				continue
			}
			frag := u.Fragment
			u.Fragment = ""
			hx, ok := strings.CutPrefix(frag, "sha256=")
			if !ok {
				continue
			}
			fn := path.Base(u.Path)
			if fn == "/" || fn == "." || strings.ContainsAny(fn, "/\\") || strings.HasPrefix(fn, ".") {
				continue
			}
			out = append(out, indexLink{url: u.String(), filename: fn, sha256: strings.ToLower(hx)})
		}
	}
}

// planPip reads the requirements files and, for each requirement, asks the
// index which files carry the pinned hashes. Every file whose hash is
// pinned is fetched (wheels for each platform and the sdist), and pip
// picks among them at build time.
func planPip(ctx context.Context, f *fetcher, srcDir string, p Package, stage, index string) ([]download, []*component, error) {
	var downloads []download
	var comps []*component
	seen := map[string]bool{}
	for _, rf := range p.RequirementsFiles {
		name := filepath.ToSlash(filepath.Join(p.Path, rf))
		data, err := os.ReadFile(filepath.Join(srcDir, filepath.FromSlash(name)))
		if err != nil {
			return nil, nil, fmt.Errorf("pip: %w", err)
		}
		reqs, err := parseRequirements(name, data)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range reqs {
			pageURL := strings.TrimSuffix(index, "/") + "/" + r.name + "/"
			what := r.name + "==" + r.version
			page, err := url.Parse(pageURL)
			if err != nil {
				return nil, nil, fmt.Errorf("pip: index %q: %w", index, err)
			}
			body, err := f.getSmall(ctx, what, pageURL, "text/html")
			if err != nil {
				return nil, nil, err
			}
			want := map[string]bool{}
			for _, h := range r.hashes {
				want[h] = true
			}
			found := 0
			links := parseSimpleIndex(page, body)
			sort.Slice(links, func(i, j int) bool { return links[i].filename < links[j].filename })
			for _, l := range links {
				if !want[l.sha256] {
					continue
				}
				found++
				if seen[l.sha256] {
					continue
				}
				seen[l.sha256] = true
				c := &component{
					kind: TypePip, name: r.name, version: r.version,
					purl:        "pkg:pypi/" + purlEscape(r.name) + "@" + purlEscape(r.version) + "?file_name=" + url.QueryEscape(l.filename),
					downloadURL: l.url,
					file:        PipDir + "/" + l.filename,
					pin:         "sha256:" + l.sha256,
				}
				comps = append(comps, c)
				l := l
				downloads = append(downloads, download{
					what: what + " (" + l.filename + ")", url: l.url, dest: filepath.Join(stage, filepath.FromSlash(c.file)),
					cacheKey: "sha256/" + l.sha256,
					verify: func(p string) error {
						got, err := fileSHA256(p)
						if err != nil {
							return err
						}
						if got != l.sha256 {
							return &ChecksumError{What: what, URL: l.url, Want: "sha256:" + l.sha256, Got: "sha256:" + got}
						}
						return nil
					},
					comp: c,
				})
			}
			if found == 0 {
				return nil, nil, fmt.Errorf("%s:%d: %s: no file on %s carries a pinned hash", name, r.line, what, pageURL)
			}
		}
	}
	return downloads, comps, nil
}
