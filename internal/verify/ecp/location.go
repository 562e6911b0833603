package ecp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Location kinds.
const (
	KindLocal = "local"
	KindOCI   = "oci"
	KindGit   = "git"
	KindHTTP  = "http"
)

// Location is a parsed policy or data source location.
type Location struct {
	Kind string
	// Path is the local path (KindLocal).
	Path string
	// Ref is the image reference (KindOCI), without "oci::" or "oci://".
	Ref string
	// URL is the repository (KindGit) or file (KindHTTP) URL, without
	// go-getter's parameters and subdirectory.
	URL string
	// Subdir is the directory inside the repository (KindGit), cleaned,
	// without leading slash; empty for the whole tree.
	Subdir string
	// Rev is the branch, tag or commit of ?ref= (KindGit); empty for the
	// remote's default branch.
	Rev string
	// Depth is ?depth= (KindGit); 0 for full history.
	Depth int
}

// Git hosts Conforma treats as git repositories when no forced getter
// ("git::", "oci::") is written, and OCI registries it treats as OCI
// artifacts.
var (
	gitHosts    = []string{"github.com", "gitlab.com", "bitbucket.org"}
	ociRegistry = []*regexp.Regexp{
		regexp.MustCompile(`(^|\.)azurecr\.io$`),
		regexp.MustCompile(`(^|\.)gcr\.io$`),
		regexp.MustCompile(`^registry\.gitlab\.com$`),
		regexp.MustCompile(`(^|\.)pkg\.dev$`),
		regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$`),
		regexp.MustCompile(`^quay\.io$`),
		regexp.MustCompile(`^(::1|127\.0\.0\.1|localhost)$`),
	}
)

// ParseLocation reads a source location the way Conforma (go-getter
// syntax) writes it:
//
//	oci::REF, oci://REF             an OCI policy bundle (REF by tag or digest)
//	git::URL[//SUBDIR][?ref=REV]    a git repository over https (or ssh-less
//	                                http on loopback), optionally a directory of it
//	https://host/file               a file, or an archive (.tar, .tar.gz, .tgz, .zip)
//	file::PATH, PATH                a local file or directory
//
// Without a forced getter, a location naming github.com, gitlab.com or
// bitbucket.org, or whose path ends in ".git", is git; a bare reference
// on a well-known registry (quay.io, gcr.io, …, 127.0.0.1) is OCI, as
// Conforma's downloader decides. Plain http is refused except to a
// loopback address.
func ParseLocation(l string) (Location, error) {
	if l == "" {
		return Location{}, errors.New("empty location")
	}
	if strings.ContainsAny(l, "\x00\n\r") {
		return Location{}, fmt.Errorf("location %q: control characters", l)
	}
	getter, rest, forced := strings.Cut(l, "::")
	if forced {
		switch getter {
		case "oci":
			return parseOCI(l, rest)
		case "git":
			return parseGit(l, rest)
		case "file":
			if strings.TrimPrefix(rest, "file://") == "" {
				return Location{}, fmt.Errorf("location %q: file:: needs a path", l)
			}
			return Location{Kind: KindLocal, Path: strings.TrimPrefix(rest, "file://")}, nil
		case "http", "https":
			return parseHTTP(l, rest)
		}
		return Location{}, fmt.Errorf("location %q: getter %q is not supported (use git::, oci::, https:// or a local path)", l, getter)
	}
	switch {
	case strings.HasPrefix(l, "oci://"):
		return parseOCI(l, l)
	case strings.HasPrefix(l, "git@"):
		return Location{}, fmt.Errorf("location %q: git over ssh is not supported (use git::https://…)", l)
	case strings.HasPrefix(l, "git://"):
		return Location{}, fmt.Errorf("location %q: the unauthenticated git:// protocol is not supported (use git::https://…)", l)
	case strings.HasPrefix(l, "file://"):
		if l == "file://" {
			return Location{}, fmt.Errorf("location %q: file:// needs a path", l)
		}
		return Location{Kind: KindLocal, Path: strings.TrimPrefix(l, "file://")}, nil
	case strings.HasPrefix(l, "/"), strings.HasPrefix(l, "./"), strings.HasPrefix(l, "../"):
		return Location{Kind: KindLocal, Path: l}, nil
	case strings.HasPrefix(l, "https://"), strings.HasPrefix(l, "http://"):
		u, err := url.Parse(l)
		if err != nil {
			return Location{}, fmt.Errorf("location %q: %v", l, err)
		}
		if isGitHost(u.Hostname()) || strings.HasSuffix(strings.SplitN(u.Path, "//", 2)[0], ".git") {
			return parseGit(l, l)
		}
		return parseHTTP(l, l)
	case strings.Contains(l, "://"):
		return Location{}, fmt.Errorf("location %q: scheme %q is not supported (use git::, oci::, https:// or a local path)", l, l[:strings.Index(l, "://")])
	}
	host, _, _ := strings.Cut(l, "/")
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	if strings.Contains(host, ".") || strings.Contains(host, ":") || hostname == "localhost" {
		if isGitHost(hostname) || strings.HasSuffix(strings.SplitN(strings.SplitN(l, "?", 2)[0], "//", 2)[0], ".git") {
			return parseGit(l, "https://"+l)
		}
		for _, re := range ociRegistry {
			if re.MatchString(strings.ToLower(hostname)) {
				return parseOCI(l, l)
			}
		}
	}
	return Location{Kind: KindLocal, Path: l}, nil
}

func isGitHost(h string) bool {
	h = strings.ToLower(h)
	for _, g := range gitHosts {
		if h == g || strings.HasSuffix(h, "."+g) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseOCI(l, rest string) (Location, error) {
	ref := strings.TrimPrefix(rest, "oci://")
	if ref == "" {
		return Location{}, fmt.Errorf("location %q: oci:: needs a reference", l)
	}
	if strings.Contains(ref, "://") || strings.ContainsAny(ref, " ?#") {
		return Location{}, fmt.Errorf("location %q: %q is not an image reference", l, ref)
	}
	return Location{Kind: KindOCI, Ref: ref}, nil
}

// webURL parses an http(s) URL, refusing plain http except on loopback.
func webURL(l, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("location %q: %v", l, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("location %q: plain http is refused (use https)", l)
		}
	default:
		return nil, fmt.Errorf("location %q: scheme %q is not supported (want https)", l, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("location %q: no host", l)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("location %q: a fragment (#…) is not allowed", l)
	}
	return u, nil
}

func parseGit(l, rest string) (Location, error) {
	if strings.HasPrefix(rest, "ssh://") || strings.HasPrefix(rest, "git@") {
		return Location{}, fmt.Errorf("location %q: git over ssh is not supported (use git::https://…)", l)
	}
	if !strings.Contains(rest, "://") {
		rest = "https://" + rest
	}
	u, err := webURL(l, rest)
	if err != nil {
		return Location{}, err
	}
	loc := Location{Kind: KindGit}
	// go-getter: the subdirectory follows "//" in the path.
	p := u.Path
	if strings.HasPrefix(p, "//") {
		return Location{}, fmt.Errorf("location %q: no repository path", l)
	}
	if repo, sub, ok := strings.Cut(strings.TrimPrefix(p, "/"), "//"); ok {
		p = "/" + repo
		loc.Subdir = sub
	}
	q := u.Query()
	for k, vs := range q {
		if len(vs) != 1 {
			return Location{}, fmt.Errorf("location %q: parameter %q given %d times", l, k, len(vs))
		}
		v := vs[0]
		// Conforma also takes the subdirectory after "//" in a
		// parameter's value (?ref=main//policy).
		if val, sub, ok := strings.Cut(v, "//"); ok {
			if loc.Subdir != "" {
				return Location{}, fmt.Errorf("location %q: two subdirectories", l)
			}
			v, loc.Subdir = val, sub
		}
		switch k {
		case "ref":
			if v == "" || strings.HasPrefix(v, "-") || strings.ContainsAny(v, " ~^:?*[\\") || strings.Contains(v, "..") {
				return Location{}, fmt.Errorf("location %q: ref %q is not a branch, tag or commit", l, v)
			}
			loc.Rev = v
		case "depth":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Location{}, fmt.Errorf("location %q: depth %q is not a whole number", l, v)
			}
			loc.Depth = n
		default:
			return Location{}, fmt.Errorf("location %q: parameter %q is not supported (ref, depth)", l, k)
		}
	}
	if loc.Subdir != "" {
		sub := path.Clean("/" + loc.Subdir)
		if strings.Contains("/"+loc.Subdir+"/", "/../") {
			return Location{}, fmt.Errorf("location %q: subdirectory %q leaves the repository", l, loc.Subdir)
		}
		loc.Subdir = strings.TrimPrefix(sub, "/")
	}
	if strings.Trim(p, "/") == "" {
		return Location{}, fmt.Errorf("location %q: no repository path", l)
	}
	u.Path, u.RawPath, u.RawQuery = p, "", ""
	loc.URL = u.String()
	return loc, nil
}

func parseHTTP(l, rest string) (Location, error) {
	u, err := webURL(l, rest)
	if err != nil {
		return Location{}, err
	}
	if path.Base(u.Path) == "/" || path.Base(u.Path) == "." || strings.HasSuffix(u.Path, "/") || u.Path == "" {
		return Location{}, fmt.Errorf("location %q: names no file", l)
	}
	return Location{Kind: KindHTTP, URL: u.String()}, nil
}
