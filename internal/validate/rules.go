package validate

import (
	"sort"
	"strings"

	"github.com/trustline-dev/trustline/internal/tekton"
)

// ConventionsDoc is where the rules are explained, relative to the
// repository root.
const ConventionsDoc = "docs/task-conventions.md"

// Rule is one of the library's conventions. Its id and title mark a
// finding as trustline's, not Tekton's; each has a section in
// docs/task-conventions.md.
type Rule struct {
	ID    string
	Title string
}

// Rules lists every convention trustline validate checks.
var Rules = []Rule{
	{"TL001", "file outside the layout"},
	{"TL002", "name or version does not match its directory"},
	{"TL003", "image not pinned by digest"},
	{"TL004", "step has no command"},
	{"TL005", "parameter spliced into a script"},
	{"TL006", "parameter has no description"},
	{"TL007", "privilege not explained"},
	{"TL008", "catalog annotation missing"},
	{"TL009", "description missing"},
	{"TL010", "Chains result hint incomplete"},
	{"TL011", "bundle not pinned by digest"},
	{"TL012", "README out of date"},
	{"TL013", "CHANGELOG out of date"},
	{"TL014", "catalog.yaml out of step with the tree"},
	{"TL015", "published version changed"},
}

// Anchor is the rule's section heading as GitHub links it:
// "### TL003 image not pinned by digest" is #tl003-image-not-pinned-by-digest.
func (r Rule) Anchor() string {
	var b strings.Builder
	for _, c := range strings.ToLower(r.ID + " " + r.Title) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		case c == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// URL links the rule's section.
func (r Rule) URL() string { return ConventionsDoc + "#" + r.Anchor() }

// finish gives each convention finding its rule's title and link,
// shortens long values in every message and orders problems by file,
// document and line.
func finish(ps []tekton.Problem) []tekton.Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Doc != b.Doc {
			return a.Doc < b.Doc
		}
		return a.Line < b.Line
	})
	for i := range ps {
		ps[i].Message = tekton.Shorten(ps[i].Message)
		if ps[i].Rule == "" {
			continue
		}
		for _, r := range Rules {
			if r.ID == ps[i].Rule {
				ps[i].Title, ps[i].URL = r.Title, r.URL()
			}
		}
	}
	return ps
}
