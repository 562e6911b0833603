// Package tekton loads Tekton resources from YAML exactly as a cluster
// running Tekton Pipelines v1.10 admits them when kubectl creates them:
// the apiserver's strict field validation against the CRD schema (field
// names case-sensitive, except under the schema's
// x-kubernetes-preserve-unknown-fields subtrees), metadata.generateName
// filled in, then the Tekton webhook's own decoding (encoding/json,
// unknown fields disallowed, names matched case-insensitively),
// SetDefaults and Validate, with github.com/tektoncd/pipeline's types.
// v1beta1 resources are validated as v1beta1, as the webhook does, then
// converted to tekton.dev/v1 with Tekton's own conversion code. Every
// trustline command that reads a Task or Pipeline goes through here, so a
// resource the cluster would reject is rejected locally too.
package tekton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"
	knativejson "knative.dev/pkg/webhook/json"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/tekton/yamldoc"
)

// Document is one YAML document of a file, decoded.
type Document struct {
	File string
	// Index is the document's position among the file's non-empty
	// documents (0 for the first).
	Index int
	// Line is the 1-based line where the document starts.
	Line       int
	APIVersion string
	Kind       string
	// Name is metadata.name, or metadata.generateName when there is no
	// name.
	Name string
	// Raw is the document's own YAML.
	Raw []byte
	// Object is *v1.Task, *v1.Pipeline, *v1.TaskRun, *v1.PipelineRun
	// (converted from v1beta1 when that is what the file holds),
	// *v1beta1.StepAction (converted from v1alpha1), *v1beta1.CustomRun
	// or *v1alpha1.VerificationPolicy; defaulted once Validate ran. Nil
	// when decoding failed or the document is not a Tekton resource.
	Object any
	// Notes say what was not checked, or was accepted with a caveat
	// (a Secret beside a Task, a key given twice). They are not problems.
	Notes Problems

	admitted admitted // as the webhook decodes it, before conversion
	kind     *tektonKind
	pos      *yamldoc.Positions
}

// Task returns the document as a Task, or nil.
func (d *Document) Task() *v1.Task { t, _ := d.Object.(*v1.Task); return t }

// Pipeline returns the document as a Pipeline, or nil.
func (d *Document) Pipeline() *v1.Pipeline { p, _ := d.Object.(*v1.Pipeline); return p }

// FieldLine returns the file line of a field path of the document (or of its
// nearest parent in the file), 0 when unknown.
func (d *Document) FieldLine(path string) int {
	if l := d.pos.Line(path); l > 0 {
		return l
	}
	return d.Line
}

// Place sets the document number and the line of each problem about the
// document's file that has none, from its field.
func (d *Document) Place(ps Problems) Problems {
	for i := range ps {
		if ps[i].File != d.File {
			continue
		}
		if ps[i].Doc == 0 {
			ps[i].Doc = d.Index + 1
		}
		if ps[i].Line == 0 {
			ps[i].Line = d.FieldLine(ps[i].Field)
		}
	}
	return ps
}

// Severity tells errors from notes.
type Severity string

const (
	// Error is what the cluster rejects, or a convention broken.
	Error Severity = "error"
	// Note is information that does not fail the check.
	Note Severity = "note"
)

// Problem is one thing wrong with a resource, at a field.
type Problem struct {
	File string
	// Line is the 1-based line in File, 0 when unknown.
	Line int
	// Doc is the 1-based number of the YAML document in File, 0 when
	// the problem is about the file as a whole.
	Doc     int
	Field   string
	Message string
	// Rule is the convention's id (TL003) for a convention finding, empty
	// for what Tekton or Kubernetes rejects; Title and URL go with it.
	Rule  string
	Title string
	URL   string
	// Severity is Error when empty.
	Severity Severity
}

// IsNote reports whether the problem is only a note.
func (p Problem) IsNote() bool { return p.Severity == Note }

// String renders "file:line: [doc N] field: message".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Doc > 0 {
		fmt.Fprintf(&b, "[doc %d] ", p.Doc)
	}
	if p.IsNote() {
		b.WriteString("note: ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	if p.Rule != "" {
		b.WriteString(p.Rule + " " + p.Title + ": ")
	}
	b.WriteString(p.Message)
	if p.URL != "" {
		b.WriteString(" (" + p.URL + ")")
	}
	return b.String()
}

// Problems is a list of problems that is also an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// DefaultMaxFileSize bounds what ReadFile reads: far above any real
// Tekton file (the apiserver takes at most 3 MiB per object), far below
// what would take a machine's memory.
const DefaultMaxFileSize = 8 << 20

// TooLargeError is a file over the size limit.
type TooLargeError struct {
	File  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: larger than the %d-byte (%d MiB) limit for one YAML file; "+
		"a Kubernetes object is at most 3 MiB", e.File, e.Limit, e.Limit>>20)
}

// ReadFile reads every document of a YAML file of at most
// DefaultMaxFileSize bytes. Decoding problems are returned as Problems;
// an I/O error or a file over the limit is returned as error.
func ReadFile(path string) ([]*Document, Problems, error) {
	b, err := ReadLimited(path, DefaultMaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	docs, problems := Parse(path, b)
	return docs, problems, nil
}

// ReadLimited reads a file, failing with *TooLargeError beyond limit
// bytes without reading further.
func ReadLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{File: path, Limit: limit}
	}
	return b, nil
}

// Parse splits YAML into documents and decodes each as the apiserver and
// the Tekton webhook would. name is the file name used in problems.
func Parse(name string, b []byte) ([]*Document, Problems) {
	chunks, err := yamldoc.Split(b)
	if err != nil {
		var se *yamldoc.SeparatorError
		line := 0
		if errors.As(err, &se) {
			line = se.Line
		}
		return nil, Problems{{File: name, Line: line, Message: "not valid YAML: " + err.Error()}}
	}
	var docs []*Document
	var problems Problems
	for _, c := range chunks {
		if c.Empty() {
			continue
		}
		d := &Document{File: name, Index: len(docs), Line: c.Line, Raw: c.Text}
		docs = append(docs, d)
		problems = append(problems, d.Place(d.decode(c))...)
		d.Place(d.Notes)
	}
	if len(docs) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{File: name, Message: "no YAML document found"})
	}
	return docs, problems
}

var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// yamlProblem reports a YAML error at the file line it names.
func (d *Document) yamlProblem(msg string) Problems {
	line := d.Line
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	return Problems{{File: d.File, Line: line, Message: "not valid YAML: " + Shorten(msg)}}
}

func (d *Document) decode(c yamldoc.Doc) Problems {
	// kubectl converts YAML to JSON with sigs.k8s.io/yaml (YAML 1.1
	// scalars, a key given twice keeps the last) before it sends it; its
	// syntax errors are kubectl's, and name the right line.
	js, err := yaml.YAMLToJSON(c.Text)
	if err != nil {
		return d.yamlProblem(yamldoc.ShiftLines(err.Error(), c.Line))
	}
	// Positions only place problems: YAML 1.2's parser may refuse what
	// kubectl's accepts, and then lines fall back to the document's.
	pos, _ := yamldoc.Locate(c)
	d.pos = pos
	for _, dup := range pos.Duplicates() {
		d.Notes = append(d.Notes, Problem{File: d.File, Line: dup.Line, Field: dup.Path, Severity: Note,
			Message: fmt.Sprintf("key given twice (first on line %d): kubectl keeps this one, the YAML spec forbids it", dup.FirstLine)})
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name         string `json:"name"`
			GenerateName string `json:"generateName"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &meta); err != nil {
		return Problems{{File: d.File, Message: "not a Kubernetes object: a YAML mapping with apiVersion, kind and metadata"}}
	}
	d.APIVersion, d.Kind, d.Name = meta.APIVersion, meta.Kind, meta.Metadata.Name
	if d.Name == "" {
		d.Name = meta.Metadata.GenerateName
	}
	switch {
	case d.Kind == "":
		return Problems{{File: d.File, Field: "kind", Message: "missing: every object names its kind"}}
	case d.APIVersion == "":
		return Problems{{File: d.File, Field: "apiVersion", Message: "missing: every object names its apiVersion"}}
	}
	if meta.Metadata.Name == "" && meta.Metadata.GenerateName == "" {
		return Problems{{File: d.File, Field: "metadata.name", Message: "required: name or generateName is required (the apiserver rejects it)"}}
	}
	key := d.APIVersion + "/" + d.Kind
	k, ok := tektonKinds[key]
	if !ok {
		return d.decodeOther(js, key)
	}
	d.kind = &k
	return d.decodeTekton(js, key)
}

// decodeOther checks a document that is not a Tekton resource.
func (d *Document) decodeOther(js []byte, key string) Problems {
	if group, _, _ := strings.Cut(d.APIVersion, "/"); group == "tekton.dev" {
		return Problems{{File: d.File, Field: "apiVersion", Message: fmt.Sprintf(
			"%s %s is not served by Tekton Pipelines v1.10: it serves Task, Pipeline, TaskRun and PipelineRun as tekton.dev/v1 and v1beta1, StepAction as v1beta1 and v1alpha1, CustomRun as v1beta1, VerificationPolicy as v1alpha1",
			d.APIVersion, d.Kind)}}
	}
	newObj, ok := otherKinds[key]
	if !ok {
		d.Notes = append(d.Notes, Problem{File: d.File, Field: "kind", Severity: Note,
			Message: fmt.Sprintf("%s %q skipped: not a Tekton Pipelines resource", key, d.Name)})
		return nil
	}
	obj := newObj()
	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return d.typeProblem(err)
	}
	var ps Problems
	for _, e := range strictErrs {
		ps = append(ps, d.strictProblem(e))
	}
	if len(ps) == 0 {
		d.Notes = append(d.Notes, Problem{File: d.File, Field: "kind", Severity: Note,
			Message: fmt.Sprintf("%s %q: not a Tekton resource; only its fields and their types were checked", d.Kind, d.Name)})
	}
	return ps
}

// decodeTekton decodes a Tekton resource as the apiserver, then the
// webhook, would.
func (d *Document) decodeTekton(js []byte, key string) Problems {
	// The apiserver: strict field validation (kubectl's default) against
	// the CRD schema, whose field names are the Go types' JSON names,
	// case-sensitive, except under preserved subtrees.
	strict := d.kind.new()
	strictErrs, err := kjson.UnmarshalStrict(js, strict)
	if err != nil {
		return d.typeProblem(err)
	}
	var ps Problems
	var preserved []string
	for _, e := range strictErrs {
		if path, ok := unknownFieldPath(e); ok && isPreserved(key, path) {
			preserved = append(preserved, path)
			continue
		}
		ps = append(ps, d.strictProblem(e))
	}
	if len(ps) > 0 {
		return ps
	}
	// The webhook: knative's decoder, encoding/json with unknown fields
	// disallowed (field names match case-insensitively), metadata skipped.
	obj := d.kind.new()
	if err := knativejson.Decode(js, obj, true); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
			name = strings.TrimSuffix(name, `"`)
			field := ""
			for _, p := range preserved {
				if p == name || strings.HasSuffix(p, "."+name) {
					field = p
					break
				}
			}
			return Problems{{File: d.File, Field: field, Message: fmt.Sprintf("unknown field %q (the Tekton webhook rejects it)", name)}}
		}
		return d.typeProblem(err)
	}
	d.admitted = obj
	if d.kind.convert == nil {
		d.Object = obj
		return nil
	}
	// Convert a copy now, so that callers see the tekton.dev/v1 object
	// before Validate; Validate converts the defaulted one again.
	converted, err := d.kind.convert(context.Background(), obj.DeepCopyObject().(admitted))
	if err != nil {
		return Problems{{File: d.File, Message: "Tekton's conversion of " + d.APIVersion + " failed: " + Shorten(err.Error())}}
	}
	d.Object = converted
	return nil
}

func isPreserved(key, path string) bool {
	plain := indexFree(path)
	for _, p := range preservedFields[key] {
		if plain == p || strings.HasPrefix(plain, p+".") || strings.HasPrefix(plain, p+"[") {
			return true
		}
	}
	return false
}

var index = regexp.MustCompile(`\[[^\]]*\]`)

// indexFree turns spec.steps[0].x into spec.steps[].x.
func indexFree(path string) string { return index.ReplaceAllString(path, "[]") }

// unknownFieldPath returns the path of an `unknown field "a.b[0].c"`
// strict-decoding error.
func unknownFieldPath(err error) (string, bool) {
	rest, ok := strings.CutPrefix(err.Error(), `unknown field "`)
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(rest, `"`), true
}

// strictProblem turns `unknown field "spec.steps[0].x"` or `duplicate
// field "a.b"` into a field and a message.
func (d *Document) strictProblem(err error) Problem {
	s := err.Error()
	for _, kind := range []string{"unknown field", "duplicate field"} {
		if rest, ok := strings.CutPrefix(s, kind+" \""); ok {
			field := strings.TrimSuffix(rest, "\"")
			name := field
			if i := strings.LastIndexAny(field, ".]"); i >= 0 {
				name = field[i+1:]
			}
			return Problem{File: d.File, Field: field, Message: fmt.Sprintf("%s %q (the apiserver's strict field validation rejects it; names are case-sensitive)", kind, name)}
		}
	}
	return Problem{File: d.File, Message: Shorten(s)}
}

// goTypeError matches encoding/json's type error, which names the field
// by its Go struct path without list indices.
var goTypeError = regexp.MustCompile(`cannot unmarshal (\w+) into Go struct field [\w.]*?\.?([^ .]+(?:\.[^ ]+)?) of type (\S+)`)

// typeProblem turns a decoder's type error into the YAML field it is
// about and what the field must hold.
func (d *Document) typeProblem(err error) Problems {
	var te *json.UnmarshalTypeError
	got, field, want := "", "", ""
	if errors.As(err, &te) && te.Field != "" {
		got, field, want = te.Value, te.Field, te.Type.String()
	} else if m := goTypeError.FindStringSubmatch(err.Error()); m != nil {
		got, field, want = m[1], m[2], m[3]
		// "Step.spec.steps.image": the struct name comes first.
		if i := strings.IndexByte(field, '.'); i >= 0 && field[:1] == strings.ToUpper(field[:1]) {
			field = field[i+1:]
		}
	} else {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		msg = strings.TrimPrefix(msg, "error unmarshaling JSON: while decoding JSON: ")
		return Problems{{File: d.File, Message: Shorten(msg)}}
	}
	path := field
	if matches := d.pos.Find(field); len(matches) > 0 {
		path = matches[0].Path
		for _, m := range matches {
			if m.Kind == got {
				path = m.Path
				break
			}
		}
	}
	return Problems{{File: d.File, Field: path, Message: fmt.Sprintf("wrong type: got %s, want %s", got, jsonType(want))}}
}

// jsonType names a Go type as the YAML author sees it.
func jsonType(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	}
	return "a mapping (" + goType[strings.LastIndexByte(goType, '.')+1:] + ")"
}

// generatedSuffix stands in for the five random characters the apiserver
// appends to metadata.generateName (names.SimpleNameGenerator).
const generatedSuffix = "x2b4z"

// Validate defaults the document's object and runs Tekton's own
// validation, as on admission (within a create), then converts a
// v1beta1 object to tekton.dev/v1.
func (d *Document) Validate(ctx context.Context) Problems {
	if d.admitted == nil {
		return nil
	}
	ctx = apis.WithinCreate(ctx)
	obj := d.admitted
	// The mutating (defaulting) webhook runs before the apiserver fills
	// in a generated name; validation runs after.
	obj.SetDefaults(ctx)
	generated := obj.GetName() == "" && obj.GetGenerateName() != ""
	if generated {
		base := obj.GetGenerateName()
		if len(base) > 58 {
			base = base[:58]
		}
		obj.SetName(base + generatedSuffix)
	}
	ps := FieldProblems(d.File, obj.Validate(ctx))
	if generated {
		obj.SetName("") // the file's object has none
	}
	if d.kind.convert != nil {
		converted, err := d.kind.convert(ctx, obj.DeepCopyObject().(admitted))
		if err != nil {
			ps = append(ps, Problem{File: d.File, Message: "Tekton's conversion of " + d.APIVersion + " failed: " + Shorten(err.Error())})
		} else {
			converted.SetDefaults(ctx)
			d.Object = converted
		}
	}
	return d.Place(ps)
}

// FieldProblems flattens a knative FieldError into one problem per message
// and path.
func FieldProblems(file string, fe *apis.FieldError) Problems {
	if fe == nil {
		return nil
	}
	var ps Problems
	for _, e := range fe.Filter(apis.ErrorLevel).WrappedErrors() {
		msg := Shorten(e.Message)
		if e.Details != "" {
			msg += " (" + Shorten(strings.ReplaceAll(e.Details, "\n", " ")) + ")"
		}
		if len(e.Paths) == 0 {
			ps = append(ps, Problem{File: file, Message: msg})
		}
		for _, p := range e.Paths {
			ps = append(ps, Problem{File: file, Field: p, Message: msg})
		}
	}
	return ps
}

// LoadTask reads one file that must hold exactly one valid Task.
func LoadTask(ctx context.Context, path string) (*v1.Task, error) {
	d, err := loadOne(ctx, path, "Task")
	if err != nil {
		return nil, err
	}
	return d.Task(), nil
}

// LoadPipeline reads one file that must hold exactly one valid Pipeline.
func LoadPipeline(ctx context.Context, path string) (*v1.Pipeline, error) {
	d, err := loadOne(ctx, path, "Pipeline")
	if err != nil {
		return nil, err
	}
	return d.Pipeline(), nil
}

func loadOne(ctx context.Context, path, kind string) (*Document, error) {
	docs, problems, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if len(docs) != 1 || docs[0].Kind != kind {
		return nil, Problems{{File: path, Field: "kind", Message: "expected exactly one " + kind}}
	}
	if ps := docs[0].Validate(ctx); len(ps) > 0 {
		return nil, ps
	}
	return docs[0], nil
}
