package ecp

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

func TestParseLocationConformaForms(t *testing.T) {
	for in, want := range map[string]Location{
		"oci::quay.io/enterprise-contract/ec-release-policy:latest":     {Kind: KindOCI, Ref: "quay.io/enterprise-contract/ec-release-policy:latest"},
		"oci::oci://127.0.0.1:5000/p@sha256:" + strings.Repeat("a", 64): {Kind: KindOCI, Ref: "127.0.0.1:5000/p@sha256:" + strings.Repeat("a", 64)},
		"oci://quay.io/p:1":                                                         {Kind: KindOCI, Ref: "quay.io/p:1"},
		"quay.io/conforma/release-policy:v1":                                        {Kind: KindOCI, Ref: "quay.io/conforma/release-policy:v1"},
		"127.0.0.1:5000/policy:v1":                                                  {Kind: KindOCI, Ref: "127.0.0.1:5000/policy:v1"},
		"git::https://github.com/conforma/policy//policy/lib":                       {Kind: KindGit, URL: "https://github.com/conforma/policy", Subdir: "policy/lib"},
		"git::https://host.example/org/repo.git//sub/path?ref=v1.2":                 {Kind: KindGit, URL: "https://host.example/org/repo.git", Subdir: "sub/path", Rev: "v1.2"},
		"git::https://host.example/repo.git?ref=main//policy/release":               {Kind: KindGit, URL: "https://host.example/repo.git", Subdir: "policy/release", Rev: "main"},
		"git::http://127.0.0.1:8080/repo.git//a/./b/?depth=1":                       {Kind: KindGit, URL: "http://127.0.0.1:8080/repo.git", Subdir: "a/b", Depth: 1},
		"github.com/conforma/policy//policy/release?ref=" + strings.Repeat("b", 40): {Kind: KindGit, URL: "https://github.com/conforma/policy", Subdir: "policy/release", Rev: strings.Repeat("b", 40)},
		"https://github.com/conforma/policy//policy/lib":                            {Kind: KindGit, URL: "https://github.com/conforma/policy", Subdir: "policy/lib"},
		"https://git.example/x/policy.git":                                          {Kind: KindGit, URL: "https://git.example/x/policy.git"},
		"https://example.com/data/rule_data.yml":                                    {Kind: KindHTTP, URL: "https://example.com/data/rule_data.yml"},
		"http://localhost:9/p.tar.gz":                                               {Kind: KindHTTP, URL: "http://localhost:9/p.tar.gz"},
		"policy/release":                                                            {Kind: KindLocal, Path: "policy/release"},
		"./policy":                                                                  {Kind: KindLocal, Path: "./policy"},
		"/abs/policy":                                                               {Kind: KindLocal, Path: "/abs/policy"},
		"file::data":                                                                {Kind: KindLocal, Path: "data"},
		"file:///abs/data":                                                          {Kind: KindLocal, Path: "/abs/data"},
		"my.policies/x":                                                             {Kind: KindLocal, Path: "my.policies/x"},
	} {
		got, err := ParseLocation(in)
		if err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseLocationErrorsNameTheLocation(t *testing.T) {
	for in, want := range map[string]string{
		"":                                                 "empty location",
		"s3::https://bucket/x":                             `getter "s3" is not supported`,
		"git::http://example.com/r.git":                    "plain http is refused",
		"http://example.com/p.rego":                        "plain http is refused",
		"git@github.com:conforma/policy.git":               "ssh is not supported",
		"git::ssh://git@github.com/x.git":                  "ssh is not supported",
		"git://github.com/x.git":                           "git:// protocol",
		"git::https://h.example/r.git?ref=a&ref=b":         `parameter "ref" given 2 times`,
		"git::https://h.example/r.git?sshkey=x":            `parameter "sshkey" is not supported`,
		"git::https://h.example/r.git?ref=--upload-pack=x": "is not a branch, tag or commit",
		"git::https://h.example/r.git?depth=-1":            `depth "-1"`,
		"git::https://h.example/r.git//../etc":             "leaves the repository",
		"git::https://h.example/r.git//a?ref=b//c":         "two subdirectories",
		"git::https://h.example//sub":                      "no repository path",
		"https://example.com/dir/":                         "names no file",
		"oci::":                                            "needs a reference",
		"oci::https://quay.io/x":                           "not an image reference",
		"ftp://example.com/x":                              `scheme "ftp"`,
		"https://h.example/p.rego#frag":                    "fragment",
	} {
		_, err := ParseLocation(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLocation(%q) = %v, want %q", in, err, want)
			continue
		}
		if in != "" && !strings.Contains(err.Error(), in) && !strings.Contains(err.Error(), strings.ReplaceAll(in, `"`, `\"`)) {
			t.Errorf("error %q does not name the location %q", err, in)
		}
	}
}

// FuzzParseLocation: any string parses or fails without panicking, and
// what parses is safe to use: a git subdirectory never leaves the
// repository, a git or http URL is https (or http on loopback) with a host,
// and an accepted location parses to the same result again.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{
		"oci::quay.io/p:1", "git::https://h.example/r.git//a/b?ref=main", "git::https://h.example/r.git?ref=v1//x",
		"github.com/o/r//p", "https://example.com/a.tar.gz", "./p", "file::x", "127.0.0.1:5000/p:v1",
		"git::http://[::1]:80/r.git//..%2f..", "git::https://h//", "https://github.com", "x::y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseLocation(s)
		if err != nil {
			return
		}
		again, err := ParseLocation(s)
		if err != nil || again != loc {
			t.Fatalf("%q parsed differently the second time", s)
		}
		switch loc.Kind {
		case KindGit, KindHTTP:
			u, err := url.Parse(loc.URL)
			if err != nil || u.Hostname() == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
				t.Fatalf("%q: unsafe URL %q", s, loc.URL)
			}
			if loc.Subdir != "" && (strings.HasPrefix(loc.Subdir, "/") || path.Clean("/"+loc.Subdir) != "/"+loc.Subdir || loc.Subdir == ".." || strings.HasPrefix(loc.Subdir, "../")) {
				t.Fatalf("%q: subdirectory %q is not clean", s, loc.Subdir)
			}
			if strings.HasPrefix(loc.Rev, "-") {
				t.Fatalf("%q: ref %q looks like an option", s, loc.Rev)
			}
		case KindOCI:
			if loc.Ref == "" {
				t.Fatalf("%q: empty reference", s)
			}
		case KindLocal:
			if loc.Path == "" {
				t.Fatalf("%q: empty path", s)
			}
		default:
			t.Fatalf("%q: kind %q", s, loc.Kind)
		}
	})
}
