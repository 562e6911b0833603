package prefetch

import (
	"net/url"
	"testing"
)

// The lockfile parsers read what a repository (untrusted) holds.

func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"gomod", `[{"type":"gomod","path":"."}]`, `{"packages":[{"type":"pip","requirements_files":["a/../r.txt"]}]}`, `{"type":"generic","lockfile":"x"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pkgs, err := ParseInput(s)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			for _, q := range append([]string{p.Path, p.Lockfile}, p.RequirementsFiles...) {
				if len(q) > 0 && (q[0] == '/' || q == ".." || len(q) > 2 && q[:3] == "../") {
					t.Fatalf("%q: path %q escapes the source", s, q)
				}
			}
		}
	})
}

func FuzzParseGoSum(f *testing.F) {
	f.Add([]byte("golang.org/x/text v0.3.7 h1:olpwvP2KacW1ZWvsR7uQhoyTYvKAupfQrRGBFM352Gk=\ngolang.org/x/text v0.3.7/go.mod h1:u+2+/6zg+i71rQMx5EYifcz6MCKuco9NR6JIITiCfzQ=\n"))
	f.Add([]byte("a b c d\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sums, err := parseGoSum("go.sum", b)
		if err != nil {
			return
		}
		for mv, e := range sums {
			if e.ZipHash == "" && e.ModHash == "" {
				t.Fatalf("%v has no hash", mv)
			}
		}
	})
}

func FuzzParseRequirements(f *testing.F) {
	f.Add([]byte("a==1.0 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n"))
	f.Add([]byte("b[x]==2 ; python_version>'3' \\\n  --hash=sha256:1111111111111111111111111111111111111111111111111111111111111111 # c\n-r other.txt\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		reqs, err := parseRequirements("requirements.txt", b)
		if err != nil {
			return
		}
		for _, r := range reqs {
			if len(r.hashes) == 0 || r.version == "" {
				t.Fatalf("%+v accepted without a pin", r)
			}
		}
	})
}

func FuzzParseSimpleIndex(f *testing.F) {
	f.Add([]byte(`<a href="../f/x-1.whl#sha256=00">x</a><a href="javascript:1#sha256=1">`))
	f.Fuzz(func(t *testing.T, b []byte) {
		page, _ := url.Parse("http://127.0.0.1/simple/x/")
		for _, l := range parseSimpleIndex(page, b) {
			if l.filename == "" || l.filename == ".." {
				t.Fatalf("bad filename %q", l.filename)
			}
		}
	})
}

func FuzzParseSRI(f *testing.F) {
	f.Add("sha512-" + "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==")
	f.Add("sha1-AAAA sha512-x?opt")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseSRI(s)
		if err == nil && len(p.digest) != newHash(p.algo).Size() {
			t.Fatalf("%q: digest of %d bytes for %s", s, len(p.digest), p.algo)
		}
	})
}
