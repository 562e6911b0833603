package catalog

import (
	"strings"
	"testing"
)

func TestContentDigestIgnoresFormattingAndPins(t *testing.T) {
	a := []byte("# comment\napiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: x}\nspec:\n  steps:\n  - image: ghcr.io/lib/step-x@sha256:" + strings.Repeat("0", 64) + "\n    command: [/x]\n")
	b := []byte("kind: Task\napiVersion: tekton.dev/v1\nmetadata:\n  name: x\nspec:\n  steps:\n    - command: [\"/x\"]\n      image: 127.0.0.1:5000/lib/step-x@sha256:" + strings.Repeat("a", 64) + "\n")
	c := []byte("kind: Task\napiVersion: tekton.dev/v1\nmetadata:\n  name: x\nspec:\n  steps:\n    - command: [\"/y\"]\n      image: 127.0.0.1:5000/lib/step-x@sha256:" + strings.Repeat("a", 64) + "\n")
	d := []byte("kind: Task\napiVersion: tekton.dev/v1\nmetadata:\n  name: x\nspec:\n  steps:\n    - command: [\"/x\"]\n      image: 127.0.0.1:5000/lib/other@sha256:" + strings.Repeat("a", 64) + "\n")
	da, err := ContentDigest(a)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := ContentDigest(b)
	dc, _ := ContentDigest(c)
	dd, _ := ContentDigest(d)
	if da != db {
		t.Errorf("formatting, registry or a re-pinned step image changed the content digest")
	}
	if db == dc {
		t.Errorf("a changed command kept the content digest")
	}
	if db == dd {
		t.Errorf("a different (non-library) image kept the content digest")
	}
	if _, err := ContentDigest([]byte("a: [")); err == nil {
		t.Error("bad YAML gave a digest")
	}
}

func TestParseChangelog(t *testing.T) {
	md := "# x changelog\n\nintro\n\n## 0.2.0 - 2026-11-20\n\n- Breaking: renamed param.\n\n## 0.1.1 (2026-10-01)\n- fix\n\n## Unreleased notes\nignored\n## 0.1.0\n\n- first\n"
	got := ParseChangelog([]byte(md))
	if len(got) != 3 {
		t.Fatalf("%+v", got)
	}
	if got[0].Version != "0.2.0" || got[0].Date != "2026-11-20" || got[0].Notes != "- Breaking: renamed param." {
		t.Errorf("first entry %+v", got[0])
	}
	if got[1].Date != "2026-10-01" || got[2].Notes != "- first" {
		t.Errorf("%+v", got)
	}
	since := Since(got, "0.1.0")
	if len(since) != 2 || since[1].Version != "0.1.1" {
		t.Errorf("Since: %+v", since)
	}
}
