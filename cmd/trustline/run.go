package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/bundle"
	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/runner"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/tekton"
)

func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "param", Aliases: []string{"p"}, Value: &repeated{}, Usage: "parameter `NAME=VALUE` (array: a,b,c; object: k1:v1,k2:v2); repeatable"},
		&cli.GenericFlag{Name: "workspace", Aliases: []string{"w"}, Value: &repeated{}, Usage: "bind workspace `NAME=DIR` to a directory; repeatable"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "record the TaskRun/PipelineRun objects, logs and results under `DIR` (default out/runs/<time>)"},
		&cli.StringFlag{Name: "bin-dir", Value: "bin", Usage: "`DIR` holding the step binaries (image …/step-<name>@sha256:… runs DIR/<name>)"},
		&cli.StringFlag{Name: "tasks-dir", Value: "tasks", Usage: "local task library `DIR` for taskRef names (tasks/<name>/<version>/<name>.yaml)"},
		&cli.StringFlag{Name: "key", Usage: "cosign private key `FILE` (or a Chains signing-secrets directory): sign and attest built images as Tekton Chains does; password from COSIGN_PASSWORD"},
		&cli.StringFlag{Name: "provenance-format", Value: string(provenance.SLSA1), Usage: "slsa/v1.0 or slsa/v0.2"},
		&cli.StringFlag{Name: "build-type", Value: "https://tekton.dev/chains/v2/slsa", Usage: "Chains' builddefinition.buildtype `URI`: .../slsa, or .../slsa-tekton to record every TaskRun in a PipelineRun's provenance"},
		&cli.DurationFlag{Name: "timeout", Value: runner.DefaultTimeout, Usage: "TaskRun timeout (run task) or PipelineRun timeout (run pipeline); 0 for none"},
		&cli.BoolFlag{Name: "insecure-registry", Usage: "allow plain HTTP to any registry (loopback registries always may)"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "also print every step's output (always kept in the step's log file)"},
		&cli.StringFlag{Name: "name", Usage: "with a BUNDLE holding several resources, the one to run"},
		&cli.GenericFlag{Name: "secret", Value: &repeated{}, Usage: "Kubernetes secret `NAME=DIR` for secret volumes (DIR holds one file per key); repeatable"},
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the library's Tasks and Pipelines locally, with Tekton v1 semantics and Chains' signing",
		Description: `Runs a Tekton v1 Task or Pipeline on this machine. Each step image of the
library (…/step-<name>@sha256:…) runs as the step binary bin/<name>; any other
image, and any field the local runner does not implement (sidecars, volumes,
StepActions, script, matrix, …), is refused by name before anything runs.
The resource is validated first with Tekton's own code.

Each run is recorded as Tekton v1 TaskRun and PipelineRun objects with their
status under --output DIR (pipelinerun.yaml, taskruns/*.yaml, work/<taskrun>/
with results and step logs). With --key, what a TaskRun built (IMAGE_URL +
IMAGE_DIGEST results) gets SLSA provenance from Tekton Chains' formatter,
signed and pushed as a .att, and a .sig, as Chains does on a cluster.

Exit codes: 0 succeeded, 1 a task's check said no (a step exited 1, e.g. the
policy verdict), 2 anything else.`,
		Subcommands: []*cli.Command{
			{
				Name:      "task",
				Usage:     "run one Task as a TaskRun",
				ArgsUsage: "FILE|BUNDLE",
				UsageText: `trustline run task [--param NAME=VALUE]... [--workspace NAME=DIR]... [--output DIR] FILE|BUNDLE

Example:
   mkdir -p /tmp/src
   trustline run task --param url=https://github.com/tektoncd/catalog \
     --workspace output=/tmp/src tasks/git-clone/0.1/git-clone.yaml`,
				Flags:  runFlags(),
				Action: runTaskAction,
			},
			{
				Name:      "pipeline",
				Usage:     "run a Pipeline as a PipelineRun",
				ArgsUsage: "FILE|BUNDLE",
				UsageText: `trustline run pipeline [--param NAME=VALUE]... [--workspace NAME=DIR]... [--key cosign.key] [--output DIR] FILE|BUNDLE

Example:
   trustline run pipeline --param git-url=file:///src/app \
     --param output-image=127.0.0.1:5000/app:dev --workspace source=/tmp/ws \
     --key cosign.key --output out/run pipelines/docker-build/0.1/docker-build.yaml`,
				Flags:  runFlags(),
				Action: runPipelineAction,
			},
			registryCommand(),
		},
	}
}

// runSetup is what run task and run pipeline share before anything runs:
// the runner made from the flags, and the resource to run.
type runSetup struct {
	r      *runner.Runner
	out    string
	stderr io.Writer
	params []string
	ws     map[string]string
	doc    *tekton.Document // the one Task or Pipeline of the argument
	source *v1.RefSource    // where doc came from when it is a bundle's
}

func newRunSetup(c *cli.Context, kind string) (*runSetup, error) {
	if c.NArg() > 1 && strings.HasPrefix(c.Args().Get(1), "-") {
		return nil, stepcli.Usagef("flags go before FILE|BUNDLE: trustline run %s [flags] %s", c.Command.Name, c.Args().First())
	}
	if c.NArg() != 1 {
		return nil, stepcli.Usagef("want exactly one FILE or BUNDLE argument (see --help)")
	}
	out := c.String("output")
	if out == "" {
		out = filepath.Join("out", "runs", time.Now().UTC().Format("20060102-150405"))
	}
	ws, err := runner.WorkspaceDirs(values(c, "workspace"))
	if err != nil {
		return nil, stepcli.Usagef("%w", err)
	}
	stderr := c.App.ErrWriter
	secrets := map[string]string{}
	for _, kv := range values(c, "secret") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, stepcli.Usagef("--secret %q: want NAME=DIR", kv)
		}
		if st, err := os.Stat(v); err != nil || !st.IsDir() {
			return nil, stepcli.Usagef("--secret %s: %s is not a directory", k, v)
		}
		secrets[k] = v
	}
	opts := []runner.Option{
		runner.WithSecrets(secrets),
		runner.WithBinDir(c.String("bin-dir")),
		runner.WithWorkDir(filepath.Join(out, "work")),
		runner.WithProgress(stderr),
		runner.WithEnv(os.Environ()),
		runner.WithTimeout(c.Duration("timeout")),
		runner.WithTaskResolver(&runner.Resolver{TasksDir: tasksDir(c.String("tasks-dir")), Insecure: c.Bool("insecure-registry")}),
	}
	if c.Bool("verbose") {
		opts = append(opts, runner.WithStepOutput(stderr))
	}
	if key := c.String("key"); key != "" {
		pw, ok := os.LookupEnv("COSIGN_PASSWORD")
		var sopts []signing.Option
		if ok {
			sopts = append(sopts, signing.WithPassword([]byte(pw)))
		}
		signer, err := signing.Load(key, sopts...)
		if err != nil {
			return nil, stepcli.Usagef("--key: %w", err)
		}
		format, err := provenance.ParseFormat(c.String("provenance-format"))
		if err != nil {
			return nil, stepcli.Usagef("--provenance-format: %w", err)
		}
		opts = append(opts, runner.WithChains(&runner.Chains{
			Signer: signer, Format: format, Insecure: c.Bool("insecure-registry"),
			Provenance: []provenance.Option{provenance.WithBuildType(c.String("build-type"))},
		}))
	}
	r, err := runner.New(opts...)
	if err != nil {
		return nil, err
	}
	doc, source, err := loadResource(c.Context, c.Args().First(), kind, c.String("name"), c.Bool("insecure-registry"))
	if err != nil {
		return nil, asUsage(err)
	}
	return &runSetup{r: r, out: out, stderr: stderr, params: values(c, "param"), ws: ws, doc: doc, source: source}, nil
}

func tasksDir(d string) string {
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// loadResource reads FILE, or, when the argument is not a file, the
// bundle it names, and returns the one Task or Pipeline in it, with where
// it came from when that is a bundle.
func loadResource(ctx context.Context, arg, kind, entry string, insecure bool) (*tekton.Document, *v1.RefSource, error) {
	docs, from, err := readResources(ctx, arg, insecure)
	if err != nil {
		return nil, nil, err
	}
	d, err := pick(arg, docs, kind, entry)
	if err != nil {
		return nil, nil, err
	}
	if ps := d.Validate(ctx); len(ps) > 0 {
		return nil, nil, ps
	}
	if from == nil {
		return d, nil, nil
	}
	return d, bundle.RefSource(*from, d.Name), nil
}

// readResources reads the documents of FILE, or of the bundle arg names
// (then also returning the digest it was read at).
func readResources(ctx context.Context, arg string, insecure bool) ([]*tekton.Document, *name.Digest, error) {
	if _, err := os.Stat(arg); err == nil {
		docs, problems, err := tekton.ReadFile(arg)
		if err != nil {
			return nil, nil, err
		}
		if len(problems) > 0 {
			return nil, nil, problems
		}
		return docs, nil, nil
	}
	if ext := filepath.Ext(arg); ext == ".yaml" || ext == ".yml" || ext == ".json" {
		return nil, nil, stepcli.Usagef("%s: no such file", arg)
	}
	ref, err := remoteopt.ParseReference(arg, remoteopt.Insecure(insecure))
	if err != nil || !strings.Contains(arg, "/") {
		return nil, nil, stepcli.Usagef("%s: neither a file nor a bundle reference", arg)
	}
	docs, digest, err := bundle.Documents(ctx, arg, ref, remoteopt.Options(ctx), nil)
	if err != nil {
		return nil, nil, err
	}
	return docs, &digest, nil
}

func pick(where string, docs []*tekton.Document, kind, entry string) (*tekton.Document, error) {
	var found []*tekton.Document
	for _, d := range docs {
		if d.Kind == kind && (entry == "" || d.Name == entry) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, stepcli.Usagef("%s: no %s%s in it", where, kind, map[bool]string{true: "", false: " named " + entry}[entry == ""])
	}
	return nil, stepcli.Usagef("%s: %d %ss in it; choose one with --name", where, len(found), kind)
}

func runTaskAction(c *cli.Context) error {
	s, err := newRunSetup(c, "Task")
	if err != nil {
		return err
	}
	task := s.doc.Task()
	params, err := runner.ParseParams(task.Spec.Params, s.params)
	if err != nil {
		return stepcli.Usagef("%w", err)
	}
	var topts []runner.TaskOption
	if s.source != nil {
		topts = append(topts, runner.TaskRefSource(bundleRef(c.Args().First(), task.Name), s.source))
	}
	tr, runErr := s.r.RunTask(c.Context, task, params, s.ws, topts...)
	if tr == nil {
		return asUsage(runErr)
	}
	files, err := runner.Record(s.out, nil, []*v1.TaskRun{tr})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stderr, "TaskRun %s recorded in %s\n", tr.Name, files[0])
	for _, r := range tr.Status.Results {
		fmt.Fprintf(s.stderr, "  result %s = %s\n", r.Name, resultString(r.Value))
	}
	printSigned(s)
	return exitFor(runErr)
}

func runPipelineAction(c *cli.Context) error {
	s, err := newRunSetup(c, "Pipeline")
	if err != nil {
		return err
	}
	p := s.doc.Pipeline()
	params, err := runner.ParseParams(p.Spec.Params, s.params)
	if err != nil {
		return stepcli.Usagef("%w", err)
	}
	var popts []runner.PipelineOption
	if s.source != nil {
		popts = append(popts, runner.PipelineRefSource(s.source))
	}
	run, runErr := s.r.RunPipeline(c.Context, p, params, s.ws, popts...)
	if run == nil {
		return asUsage(runErr)
	}
	fmt.Fprintln(s.stderr)
	if err := runner.WriteSummary(s.stderr, run); err != nil {
		return err
	}
	files, err := runner.Record(s.out, run.PipelineRun, run.TaskRuns)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stderr, "PipelineRun recorded in %s (%d TaskRuns in %s)\n", files[0], len(run.TaskRuns), filepath.Join(s.out, "taskruns"))
	printSigned(s)
	if v := runner.Verdict(run); v != "" {
		fmt.Fprintln(s.stderr, v)
	}
	return exitFor(runErr)
}

func printSigned(s *runSetup) {
	for _, sg := range s.r.Signed() {
		fmt.Fprintf(s.stderr, "signed %s: %s, %s (provenance %s)\n", sg.Image, sg.Signature.TagStr(), sg.Attestation.TagStr(), sg.Provenance)
	}
}

func bundleRef(arg, entry string) *v1.TaskRef {
	return &v1.TaskRef{ResolverRef: v1.ResolverRef{Resolver: "bundles", Params: v1.Params{
		{Name: "bundle", Value: v1.ParamValue{Type: v1.ParamTypeString, StringVal: arg}},
		{Name: "name", Value: v1.ParamValue{Type: v1.ParamTypeString, StringVal: entry}},
		{Name: "kind", Value: v1.ParamValue{Type: v1.ParamTypeString, StringVal: "task"}},
	}}}
}

func resultString(v v1.ResultValue) string {
	b, err := v.MarshalJSON()
	if err != nil || v.Type == v1.ParamTypeString {
		return v.StringVal
	}
	return string(b)
}

// asUsage maps errors found before anything ran (bad resource, refused
// field or image) to exit code 2.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &exitcode.Err{Code: exitcode.Error, Err: err}
}

// exitFor maps a run's failure to the exit code: 1 when every failed task
// failed with a step exit code 1 (a check said no), 2 otherwise.
func exitFor(err error) error {
	if err == nil {
		return nil
	}
	var failures []*runner.TaskFailure
	collectFailures(err, &failures)
	if len(failures) == 0 {
		return &exitcode.Err{Code: exitcode.Error, Err: err}
	}
	for _, f := range failures {
		if f.ExitCode != exitcode.Failed {
			return &exitcode.Err{Code: exitcode.Error, Err: err}
		}
	}
	return exitcode.CheckFailed(err)
}

func collectFailures(err error, out *[]*runner.TaskFailure) {
	if f, ok := err.(*runner.TaskFailure); ok {
		*out = append(*out, f)
		return
	}
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			collectFailures(e, out)
		}
	case interface{ Unwrap() error }:
		if u := x.Unwrap(); u != nil {
			collectFailures(u, out)
		}
	}
}

// repeated is a repeatable flag whose values are kept whole: urfave/cli's
// StringSliceFlag splits on commas, which would break JSON and array
// parameter values.
type repeated []string

// copyMarker starts String()'s encoding: urfave/cli v2 copies a
// subcommand's flag values from one flag set to another by calling
// Set(String()), which must then restore the list, not append to it.
const copyMarker = "\x00repeated:"

func (r *repeated) Set(v string) error {
	if rest, ok := strings.CutPrefix(v, copyMarker); ok {
		var list []string
		if err := json.Unmarshal([]byte(rest), &list); err != nil {
			return err
		}
		*r = list
		return nil
	}
	*r = append(*r, v)
	return nil
}

func (r *repeated) String() string {
	if r == nil || len(*r) == 0 {
		return ""
	}
	b, _ := json.Marshal([]string(*r))
	return copyMarker + string(b)
}

func values(c *cli.Context, flag string) []string {
	if r, ok := c.Generic(flag).(*repeated); ok && r != nil {
		return *r
	}
	return nil
}
