package validate

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/trustline-dev/trustline/internal/tekton"
)

// Errors counts the problems that fail a check (not notes).
func Errors(ps []tekton.Problem) int {
	n := 0
	for _, p := range ps {
		if !p.IsNote() {
			n++
		}
	}
	return n
}

// jsonProblem is one line of --output json: the fields of the text line.
type jsonProblem struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Doc      int    `json:"doc,omitempty"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message"`
	Severity string `json:"severity"`
	// Rule, Title and URL are set for trustline's own conventions only;
	// a problem without a rule is one Tekton or Kubernetes rejects.
	Rule  string `json:"rule,omitempty"`
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// WriteJSON writes the problems as a JSON array.
func WriteJSON(w io.Writer, ps []tekton.Problem) error {
	out := make([]jsonProblem, 0, len(ps))
	for _, p := range ps {
		sev := p.Severity
		if sev == "" {
			sev = tekton.Error
		}
		out = append(out, jsonProblem{File: p.File, Line: p.Line, Doc: p.Doc, Field: p.Field, Message: p.Message,
			Severity: string(sev), Rule: p.Rule, Title: p.Title, URL: p.URL})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteText writes one "file:line: [doc N] field: message" line per
// problem.
func WriteText(w io.Writer, ps []tekton.Problem) error {
	for _, p := range ps {
		if _, err := fmt.Fprintln(w, p.String()); err != nil {
			return err
		}
	}
	return nil
}
