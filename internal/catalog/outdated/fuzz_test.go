package outdated

import (
	"strings"
	"testing"
)

// FuzzParseRef: references come from users' files. ParseRef must not
// panic, and what it accepts must print back to itself.
func FuzzParseRef(f *testing.F) {
	f.Add("ghcr.io/acme/task-build:0.1@sha256:" + strings.Repeat("a", 64))
	f.Add("127.0.0.1:5000/x/pipeline-p@sha256:" + strings.Repeat("0", 64))
	f.Add("a/task-:@sha256:")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRef(%q) prints as %q", s, r)
		}
	})
}

// FuzzScanAndFix: any file content; Scan must not panic, every position it
// reports must hold the text it reports, and Fix must leave content alone
// when there is nothing to replace.
func FuzzScanAndFix(f *testing.F) {
	f.Add(pipelineRun)
	f.Add("bundle: ghcr.io/acme/task-build:0.1@sha256:" + strings.Repeat("a", 64) + " ghcr.io/acme/task-build@sha256:" + strings.Repeat("b", 64))
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		fs := Scan([]byte(s))
		for _, fd := range fs {
			l := lines[fd.Line-1]
			if got := l[fd.Column-1 : fd.Column-1+len(fd.Text)]; got != fd.Text {
				t.Fatalf("position of %q holds %q", fd.Text, got)
			}
		}
		if out := Fix([]byte(s), nil); string(out) != s {
			t.Fatal("Fix without findings changed the content")
		}
		_ = Check(testCatalog(), "f", []byte(s))
	})
}
