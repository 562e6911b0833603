// Package validate checks Tekton Tasks and Pipelines the way the Tekton
// admission webhook would (internal/tekton), then the library's own
// conventions (docs/task-conventions.md): layout and version label,
// catalog annotations, steps pinned by digest with a command, no
// parameters spliced into scripts, Chains type hints, generated READMEs in
// step with their YAML, and catalog.yaml in step with the tree.
package validate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/taskdoc"
	"github.com/trustline-dev/trustline/internal/tekton"
)

type options struct {
	root        string
	tektonOnly  bool
	skipReadmes bool
	maxFileSize int64
}

// Option configures a validation.
type Option func(*options)

// WithRoot sets the repository root that layout, README and catalog checks
// are relative to (default: the current directory).
func WithRoot(dir string) Option { return func(o *options) { o.root = dir } }

// TektonOnly checks only what Tekton itself would reject, for resources
// written outside this library: no conventions, READMEs or catalog.yaml.
func TektonOnly() Option { return func(o *options) { o.tektonOnly = true } }

// WithMaxFileSize bounds the size of one file (default
// tekton.DefaultMaxFileSize, 8 MiB); a larger file is an error naming it
// and the limit, read no further than the limit.
func WithMaxFileSize(n int64) Option { return func(o *options) { o.maxFileSize = n } }

// Paths validates the given files and directories (walked for .yaml and
// .yml files). An error is returned only when a path cannot be read;
// everything wrong with the resources is in the problems.
func Paths(ctx context.Context, paths []string, opts ...Option) ([]tekton.Problem, error) {
	o := makeOptions(opts)
	var files []string
	for _, p := range paths {
		fs, err := tekton.YAMLFiles(p)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	ps, err := o.files(ctx, files)
	return finish(ps), err
}

// Repository validates every task and pipeline under the root's tasks/
// and pipelines/, their READMEs, and catalog.yaml against the tree.
func Repository(ctx context.Context, opts ...Option) ([]tekton.Problem, error) {
	o := makeOptions(opts)
	files, err := catalog.TreeFiles(o.root)
	if err != nil {
		return nil, err
	}
	problems, err := o.files(ctx, files)
	if err != nil {
		return nil, err
	}
	if o.tektonOnly {
		return finish(problems), nil
	}
	ps, err := o.catalog(ctx, files)
	if err != nil {
		return nil, err
	}
	problems = append(problems, ps...)
	return finish(append(problems, o.indexProblems()...)), nil
}

// files checks files on every core (Tekton's validation compiles
// regular expressions as it goes and dominates the time), reporting in
// file order.
func (o *options) files(ctx context.Context, files []string) ([]tekton.Problem, error) {
	type result struct {
		problems []tekton.Problem
		err      error
	}
	results := make([]result, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(files)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i].problems, results[i].err = o.file(ctx, files[i])
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var problems []tekton.Problem
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		problems = append(problems, r.problems...)
	}
	return problems, nil
}

func makeOptions(opts []Option) *options {
	o := &options{root: ".", maxFileSize: tekton.DefaultMaxFileSize}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// rel returns a path relative to the root, for layout and messages.
func (o *options) rel(path string) string {
	abs, err1 := filepath.Abs(path)
	root, err2 := filepath.Abs(o.root)
	if err1 == nil && err2 == nil {
		if r, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
	}
	return path
}

func (o *options) file(ctx context.Context, path string) ([]tekton.Problem, error) {
	name := o.rel(path)
	b, err := tekton.ReadLimited(path, o.maxFileSize)
	if err != nil {
		return nil, err
	}
	docs, problems := tekton.Parse(name, b)
	for _, d := range docs {
		problems = append(problems, d.Notes...)
		problems = append(problems, d.Validate(ctx)...)
		if o.tektonOnly || d.Object == nil || d.Kind == "CustomRun" || d.Kind == "VerificationPolicy" {
			continue
		}
		problems = append(problems, d.Place(o.conventions(name, path, d, len(docs)))...)
	}
	return problems, nil
}

func (o *options) conventions(name, path string, d *tekton.Document, ndocs int) []tekton.Problem {
	var ps []tekton.Problem
	var meta metadata
	switch obj := d.Object.(type) {
	case *v1.Task:
		ps = append(ps, checkTask(name, obj)...)
		meta = metadata{name: obj.Name, labels: obj.Labels}
	case *v1.Pipeline:
		ps = append(ps, checkPipeline(name, obj)...)
		meta = metadata{name: obj.Name, labels: obj.Labels}
	case *v1beta1.StepAction:
		ps = append(ps, checkStepAction(name, obj)...)
	default:
		ps = append(ps, checkRun(name, obj)...)
	}
	l, inTree := catalog.ParseLocation(name)
	if !inTree {
		return ps
	}
	if ndocs != 1 || (d.Kind != "Task" && d.Kind != "Pipeline") {
		return append(ps, tekton.Problem{Rule: "TL001", File: name, Field: "kind", Message: "a version directory holds exactly one Task or Pipeline"})
	}
	if d.APIVersion != "tekton.dev/v1" {
		ps = append(ps, tekton.Problem{Rule: "TL001", File: name, Field: "apiVersion", Message: d.APIVersion + ": the library's tasks and pipelines are tekton.dev/v1"})
	}
	if (l.Kind == catalog.KindTask) != (d.Kind == "Task") {
		ps = append(ps, tekton.Problem{Rule: "TL001", File: name, Field: "kind", Message: fmt.Sprintf("a %s under %ss/", d.Kind, l.Kind)})
	}
	ps = append(ps, checkLayout(name, l, meta)...)
	ps = append(ps, o.readme(name, path, d)...)
	ps = append(ps, o.changelog(name, path, meta)...)
	return ps
}

func (o *options) readme(name, path string, d *tekton.Document) []tekton.Problem {
	readme := filepath.Join(filepath.Dir(path), "README.md")
	relReadme := filepath.ToSlash(filepath.Join(filepath.Dir(name), "README.md"))
	existing, err := os.ReadFile(readme)
	if err != nil {
		return []tekton.Problem{{Rule: "TL012", File: relReadme, Field: "(file)", Message: "missing: run `make docs` to generate it from " + filepath.Base(name)}}
	}
	if want := taskdoc.Readme(d, existing); !bytes.Equal(want, existing) {
		return []tekton.Problem{{Rule: "TL012", File: relReadme, Field: "(content)", Message: "out of date with " + filepath.Base(name) + ": run `make docs`"}}
	}
	return nil
}

func (o *options) changelog(name, path string, meta metadata) []tekton.Problem {
	rel := filepath.ToSlash(filepath.Join(filepath.Dir(name), "CHANGELOG.md"))
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "CHANGELOG.md"))
	if err != nil {
		return []tekton.Problem{{Rule: "TL013", File: rel, Field: "(file)", Message: "missing: every version keeps a CHANGELOG.md"}}
	}
	v := meta.labels[catalog.VersionLabel]
	if v != "" && !bytes.Contains(b, []byte("## "+v)) {
		return []tekton.Problem{{Rule: "TL013", File: rel, Field: "## " + v, Message: "no entry for version " + v + " (add a `## " + v + "` section saying what changed)"}}
	}
	return nil
}

func (o *options) indexProblems() []tekton.Problem {
	path, want, err := taskdoc.RepositoryReadme(o.root)
	if err != nil {
		return []tekton.Problem{{Rule: "TL012", File: "README.md", Field: "(tasks table)", Message: err.Error()}}
	}
	if want == nil {
		return nil
	}
	if old, _ := os.ReadFile(path); !bytes.Equal(old, want) {
		return []tekton.Problem{{Rule: "TL012", File: "README.md", Field: "(tasks table)", Message: "out of date with tasks/ and pipelines/: run `make docs`"}}
	}
	return nil
}
