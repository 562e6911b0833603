package catalog

import "testing"

// FuzzParseChangelog: CHANGELOG.md text is read for users (outdated) and
// validate; it must never panic and every entry must be a version.
func FuzzParseChangelog(f *testing.F) {
	f.Add("# x\n\n## 0.2.0 - 2026-01-01\n- a\n## 0.1.0\n- b\n")
	f.Add("## 1.2.3\n## v4.5.6 (2026-13-45)\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range ParseChangelog([]byte(s)) {
			if _, _, _, ok := ParseSemver(e.Version); !ok && !isDigitsVersion(e.Version) {
				t.Fatalf("entry version %q", e.Version)
			}
		}
	})
}

// isDigitsVersion accepts what the heading pattern allows (leading zeros
// included), which ParseSemver is stricter about.
func isDigitsVersion(v string) bool {
	dots := 0
	for _, r := range v {
		switch {
		case r == '.':
			dots++
		case r < '0' || r > '9':
			return false
		}
	}
	return dots == 2
}

// FuzzContentDigest: any YAML must give a digest or an error, never a
// panic.
func FuzzContentDigest(f *testing.F) {
	f.Add("a: r/step-x@sha256:0000000000000000000000000000000000000000000000000000000000000000\n")
	f.Add("[1, {b: c}]")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ContentDigest([]byte(s))
	})
}
