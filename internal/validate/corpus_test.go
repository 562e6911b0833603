package validate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/golden"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// TestCorpus gives the admission verdict on every fixture of
// testdata/corpus, per document, and the problems behind it, with
// --tekton-only; the golden files hold what Tekton Pipelines v1.10 (and
// the apiserver's strict field validation, kubectl's default) answer.
// Regenerate with go test -run TestCorpus -update, then read the diff:
// each line is a claim about what the cluster does.
func TestCorpus(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.yaml"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range fixtures {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			ps, err := Paths(context.Background(), []string{f}, TektonOnly())
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			out.WriteString(verdicts(t, f, ps))
			out.WriteString("---\n")
			if err := WriteText(&out, ps); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "corpus", "golden", name+".txt"), out.Bytes())
			if strings.HasPrefix(name, "invalid-") == (Errors(ps) == 0) {
				t.Errorf("%s: an invalid- fixture must be rejected, any other admitted; %d errors", name, Errors(ps))
			}
		})
	}
}

// The conventions on a catalog-style task and the JSON form of a mixed
// file, as users see them.
func TestCorpusOutputs(t *testing.T) {
	f := filepath.Join("testdata", "corpus", "v1beta1-catalog-task.yaml")
	ps, err := Paths(context.Background(), []string{f})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	WriteText(&text, ps)
	golden.Check(t, filepath.Join("testdata", "corpus", "golden", "v1beta1-catalog-task.conventions.txt"), text.Bytes())

	f = filepath.Join("testdata", "corpus", "invalid-mixed.yaml")
	ps, err = Paths(context.Background(), []string{f}, TektonOnly())
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, ps); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "corpus", "golden", "invalid-mixed.json"), js.Bytes())
}

// verdicts lists each document of a file with what admission says.
func verdicts(t *testing.T, file string, ps []tekton.Problem) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := tekton.Parse(file, b)
	rejected := map[int]bool{}
	for _, p := range ps {
		if !p.IsNote() {
			rejected[p.Doc] = true
		}
	}
	var out strings.Builder
	for _, d := range docs {
		verdict := "admitted"
		switch {
		case rejected[d.Index+1] || rejected[0]:
			verdict = "rejected"
		case d.Object == nil && len(d.Notes) > 0:
			verdict = "not Tekton's (noted)"
		case d.Object == nil:
			verdict = "not Tekton's (checked for unknown fields)"
		}
		fmt.Fprintf(&out, "doc %d line %d %s %s %s: %s\n", d.Index+1, d.Line, d.APIVersion, d.Kind, d.Name, verdict)
	}
	if len(docs) == 0 {
		out.WriteString("(no document decoded): rejected\n")
	}
	return out.String()
}
