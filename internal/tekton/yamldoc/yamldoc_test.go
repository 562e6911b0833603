package yamldoc

import (
	"bytes"
	"strings"
	"testing"
)

func TestSplitKeepsLines(t *testing.T) {
	src := "a: 1\n---\n# c\nb: 2\n--- # comment\nc:\n  d: [1, 2]\n"
	docs, err := Split([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 || docs[0].Line != 1 || docs[1].Line != 3 || docs[2].Line != 6 {
		t.Fatalf("docs = %+v", docs)
	}
	pos, err := Locate(docs[2])
	if err != nil {
		t.Fatal(err)
	}
	if got := pos.Line("c.d[1]"); got != 7 {
		t.Errorf("c.d[1] on line %d, want 7", got)
	}
	if _, err := Split([]byte("a: 1\n---x\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad separator: %v", err)
	}
}

func TestLineFindsKeysWithDotsAndNamedItems(t *testing.T) {
	src := "metadata:\n  labels:\n    app.kubernetes.io/version: \"1\"\nspec:\n  params:\n  - name: a\n  - name: b\n    default: x\n"
	pos, err := Locate(Doc{Line: 10, Text: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"metadata.labels.app.kubernetes.io/version": 12,
		"spec.params[b].default":                    17,
		"spec.params[1]":                            16,
		"spec.params[0].description":                15, // not there: its parent
		"nothing":                                   0,
	} {
		if got := pos.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestSyntaxErrorLineIsInTheFile(t *testing.T) {
	_, err := Locate(Doc{Line: 20, Text: []byte("a: 1\nb: [\n")})
	if err == nil || !strings.Contains(err.Error(), "line 2") && !strings.Contains(err.Error(), "line 21") && !strings.Contains(err.Error(), "line 22") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "line 1:") || strings.Contains(err.Error(), "line 2:") {
		t.Errorf("line not shifted into the file: %v", err)
	}
}

// Split and Locate read files from pull requests: whatever they hold,
// Split must give back exactly its input, lines must stay inside the
// file and nothing may panic.
func FuzzSplitLocate(f *testing.F) {
	f.Add([]byte("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: a\nspec:\n  steps:\n  - name: s\n    image: x\n"))
	f.Add([]byte("---\n---\n# c\n--- #x\na: [1, {b: c}]\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\nd:\n  d: 1\n  d: 2\n"))
	f.Add([]byte("---x\n"))
	f.Add([]byte("a: |\n  ---\n  b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, err := Split(b)
		if err != nil {
			return
		}
		// YAML breaks lines at \n, \r\n and a lone \r (the seed
		// 07b081046e5a7189 found a lone \r counted as a line).
		lines := bytes.Count(b, []byte("\n")) + bytes.Count(b, []byte("\r")) - bytes.Count(b, []byte("\r\n")) + 1
		for i, d := range docs {
			if d.Line < 1 || d.Line > lines+1 {
				t.Fatalf("doc %d starts on line %d of %d", i, d.Line, lines)
			}
			pos, err := Locate(d)
			if err != nil {
				continue
			}
			for _, dup := range pos.Duplicates() {
				if dup.Line < d.Line || dup.Line > lines {
					t.Fatalf("duplicate on line %d outside the file", dup.Line)
				}
				if l := pos.Line(dup.Path); l != 0 && (l < d.Line || l > lines) {
					t.Fatalf("Line(%q) = %d outside the file", dup.Path, l)
				}
			}
			for _, m := range pos.Find("a.b") {
				if m.Line < d.Line || m.Line > lines {
					t.Fatalf("Find line %d outside the file", m.Line)
				}
			}
			_ = pos.Line("a[0].b[x].c")
		}
		// The documents and the separator lines between them are the
		// input, in order.
		prev := 0
		for i, d := range docs {
			start := cap(b) - cap(d.Text)
			if i == 0 && start != 0 || start < prev {
				t.Fatalf("doc %d starts at byte %d, after %d", i, start, prev)
			}
			if i > 0 {
				sep := b[prev:start]
				if !bytes.HasPrefix(sep, []byte("---")) || bytes.Count(sep, []byte("\n")) > 1 {
					t.Fatalf("between doc %d and %d: %q is not one separator line", i-1, i, sep)
				}
			}
			prev = start + len(d.Text)
		}
		if prev != len(b) {
			t.Fatalf("documents end at byte %d of %d", prev, len(b))
		}
	})
}
