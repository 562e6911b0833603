package taskdoc

import (
	"bytes"
	"fmt"
	"strings"
)

// Markers around the generated table of tasks and pipelines in the
// repository's README.
const (
	IndexBegin = "<!-- tasks-table -->"
	IndexEnd   = "<!-- /tasks-table -->"
)

// IndexRow is one task or pipeline version in the README's table.
type IndexRow struct {
	Kind        string // "task" or "pipeline"
	Name        string
	Version     string
	ReadmePath  string // relative to the repository root
	Description string
}

// Index renders the table of every task and pipeline version.
func Index(rows []IndexRow) string {
	var b strings.Builder
	b.WriteString("| kind | name | version | what it does |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | [%s](%s) | %s | %s |\n", r.Kind, r.Name, r.ReadmePath, r.Version, cell(FirstSentence(r.Description)))
	}
	return b.String()
}

// ReplaceIndex puts the table between the markers of a README; ok is false
// when the README has no markers.
func ReplaceIndex(readme []byte, table string) (out []byte, ok bool) {
	i := bytes.Index(readme, []byte(IndexBegin))
	j := bytes.Index(readme, []byte(IndexEnd))
	if i < 0 || j < i {
		return readme, false
	}
	var b bytes.Buffer
	b.Write(readme[:i+len(IndexBegin)])
	b.WriteString("\n" + table)
	b.Write(readme[j:])
	return b.Bytes(), true
}

// FirstSentence returns a description's first sentence, for tables.
func FirstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
