// Package tekton loads Tekton resources from YAML exactly as the Tekton
// admission webhook would: strict decoding (an unknown field is an error),
// SetDefaults, then Validate, using github.com/tektoncd/pipeline's own
// types. Every trustline command that reads a Task or Pipeline goes through
// here, so a resource the cluster would reject is rejected locally too.
package tekton

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"knative.dev/pkg/apis"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Document is one YAML document of a file, decoded.
type Document struct {
	File string
	// Index is the document's position in its file (0 for the first).
	Index int
	// Line is the 1-based line where the document starts.
	Line       int
	APIVersion string
	Kind       string
	Name       string
	// Raw is the document's own YAML.
	Raw []byte
	// Object is *v1.Task, *v1.Pipeline, *v1.TaskRun, *v1.PipelineRun or
	// *v1beta1.StepAction, defaulted. Nil when decoding failed.
	Object any
}

// Task returns the document as a Task, or nil.
func (d *Document) Task() *v1.Task { t, _ := d.Object.(*v1.Task); return t }

// Pipeline returns the document as a Pipeline, or nil.
func (d *Document) Pipeline() *v1.Pipeline { p, _ := d.Object.(*v1.Pipeline); return p }

// Problem is one thing wrong with a resource, at a field.
type Problem struct {
	File    string
	Field   string
	Message string
}

func (p Problem) String() string {
	field := p.Field
	if field == "" {
		field = "(document)"
	}
	return p.File + ": " + field + ": " + p.Message
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

// Supported kinds, by apiVersion/kind.
var newObject = map[string]func() any{
	"tekton.dev/v1/Task":            func() any { return &v1.Task{} },
	"tekton.dev/v1/Pipeline":        func() any { return &v1.Pipeline{} },
	"tekton.dev/v1/TaskRun":         func() any { return &v1.TaskRun{} },
	"tekton.dev/v1/PipelineRun":     func() any { return &v1.PipelineRun{} },
	"tekton.dev/v1beta1/StepAction": func() any { return &v1beta1.StepAction{} },
}

// ReadFile reads every document of a YAML file. Decoding problems are
// returned as Problems, with the document's field where there is one; an
// I/O error is returned as error.
func ReadFile(path string) ([]*Document, Problems, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	docs, problems := Parse(path, b)
	return docs, problems, nil
}

// Parse splits YAML into documents and decodes each strictly. name is the
// file name used in problems.
func Parse(name string, b []byte) ([]*Document, Problems) {
	var docs []*Document
	var problems Problems
	for _, chunk := range splitDocuments(b) {
		if len(bytes.TrimSpace(stripComments(chunk.text))) == 0 {
			continue
		}
		d := &Document{File: name, Index: len(docs), Line: chunk.line, Raw: chunk.text}
		docs = append(docs, d)
		if err := d.decode(); err != nil {
			problems = append(problems, err...)
		}
	}
	if len(docs) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{File: name, Message: "no YAML document found"})
	}
	return docs, problems
}

func (d *Document) decode() Problems {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(d.Raw, &meta); err != nil {
		return Problems{{File: d.File, Message: "not valid YAML: " + err.Error()}}
	}
	d.APIVersion, d.Kind, d.Name = meta.APIVersion, meta.Kind, meta.Metadata.Name
	newObj, ok := newObject[d.APIVersion+"/"+d.Kind]
	if !ok {
		msg := fmt.Sprintf("unsupported resource %s %s: trustline reads tekton.dev/v1 Task, Pipeline, TaskRun, PipelineRun and tekton.dev/v1beta1 StepAction", d.APIVersion, d.Kind)
		if strings.HasPrefix(d.APIVersion, "tekton.dev/v1beta1") && d.Kind != "StepAction" {
			msg += " (convert v1beta1 resources to tekton.dev/v1)"
		}
		return Problems{{File: d.File, Field: "apiVersion", Message: msg}}
	}
	obj := newObj()
	js, err := yaml.YAMLToJSONStrict(d.Raw)
	if err != nil {
		return Problems{{File: d.File, Message: "not valid YAML: " + err.Error()}}
	}
	// Strict and case-sensitive, as Kubernetes decodes: an unknown field, a
	// duplicate key or a miscased name ("runafter") is an error, where
	// encoding/json alone would silently accept the last two.
	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return Problems{{File: d.File, Message: cleanDecodeError(err)}}
	}
	if len(strictErrs) > 0 {
		var ps Problems
		for _, e := range strictErrs {
			field, msg := strictProblem(e)
			ps = append(ps, Problem{File: d.File, Field: field, Message: msg})
		}
		return ps
	}
	d.Object = obj
	return nil
}

// strictProblem turns `unknown field "spec.steps[0].x"` or `duplicate
// field "a.b"` into a field and a message.
func strictProblem(err error) (field, msg string) {
	s := err.Error()
	for _, kind := range []string{"unknown field", "duplicate field"} {
		if strings.HasPrefix(s, kind+" \"") {
			field = strings.TrimSuffix(strings.TrimPrefix(s, kind+" \""), "\"")
			name := field
			if i := strings.LastIndexAny(field, ".]"); i >= 0 {
				name = field[i+1:]
			}
			return field, fmt.Sprintf("%s %q (strict decoding, as the Tekton webhook does)", kind, name)
		}
	}
	return "", s
}

// Validate defaults the document's object and runs Tekton's own
// validation, as on admission (within a create).
func (d *Document) Validate(ctx context.Context) Problems {
	if d.Object == nil {
		return nil
	}
	ctx = apis.WithinCreate(ctx)
	var fe *apis.FieldError
	switch o := d.Object.(type) {
	case *v1.Task:
		o.SetDefaults(ctx)
		fe = o.Validate(ctx)
	case *v1.Pipeline:
		o.SetDefaults(ctx)
		fe = o.Validate(ctx)
	case *v1.TaskRun:
		o.SetDefaults(ctx)
		fe = o.Validate(ctx)
	case *v1.PipelineRun:
		o.SetDefaults(ctx)
		fe = o.Validate(ctx)
	case *v1beta1.StepAction:
		o.SetDefaults(ctx)
		fe = o.Validate(ctx)
	}
	return FieldProblems(d.File, fe)
}

// FieldProblems flattens a knative FieldError into one problem per message
// and path.
func FieldProblems(file string, fe *apis.FieldError) Problems {
	if fe == nil {
		return nil
	}
	var ps Problems
	for _, e := range fe.Filter(apis.ErrorLevel).WrappedErrors() {
		msg := e.Message
		if e.Details != "" {
			msg += " (" + strings.ReplaceAll(e.Details, "\n", " ") + ")"
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

type chunk struct {
	text []byte
	line int
}

// splitDocuments splits on "---" separator lines, remembering where each
// document starts so problems can point at it.
func splitDocuments(b []byte) []chunk {
	var out []chunk
	var cur bytes.Buffer
	start, line := 1, 0
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		line++
		t := bytes.TrimRight(l, "\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			out = append(out, chunk{text: bytes.Clone(cur.Bytes()), line: start})
			cur.Reset()
			start = line + 1
			continue
		}
		cur.Write(l)
	}
	return append(out, chunk{text: cur.Bytes(), line: start})
}

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out.Write(l)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func cleanDecodeError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error unmarshaling JSON: while decoding JSON: ")
	return strings.TrimPrefix(s, "json: ")
}
