package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/taskdoc"
	"github.com/trustline-dev/trustline/internal/tekton"
	"github.com/trustline-dev/trustline/internal/validate"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "give the Tekton admission webhook's verdict on Tekton YAML, then check the library's conventions",
		ArgsUsage: "[PATH...]",
		Description: `Admits every document as a cluster running Tekton Pipelines v1.10 does
when kubectl creates it: the apiserver's strict field validation against
Tekton's CRD schemas, generateName filled in, then the webhook's decoding,
defaults and validation with github.com/tektoncd/pipeline's own code.
tekton.dev/v1 and v1beta1 Tasks, Pipelines, TaskRuns and PipelineRuns
(v1beta1 converted with Tekton's conversion code), v1alpha1 and v1beta1
StepActions, CustomRuns and VerificationPolicies are checked; other
Kubernetes objects (Secret, ConfigMap, PVC, ServiceAccount...) are checked
for unknown fields where trustline knows their type and noted.

Then it checks the conventions in docs/task-conventions.md, each finding
marked with its rule id (TL003 image not pinned by digest) and a link to
its section. --tekton-only checks only what the cluster would reject. With
no PATH it checks the whole repository: tasks/, pipelines/, their READMEs
and (without --tekton-only) catalog.yaml.

Prints one "file:line: [doc N] field: message" line per problem (notes too,
which do not fail) and exits 1 when there is a problem, 2 when a file
cannot be read or is over --max-file-size.

Examples:
   trustline validate
   trustline validate tasks/git-clone/0.1/git-clone.yaml
   trustline validate --tekton-only .tekton/
   trustline validate --tekton-only --output json catalog/task/`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "tekton-only", Usage: "check only what Tekton and the apiserver reject (for resources written elsewhere)"},
			&cli.StringFlag{Name: "root", Value: ".", Usage: "repository root that layout and catalog checks are relative to"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
			&cli.Int64Flag{Name: "max-file-size", Value: tekton.DefaultMaxFileSize, Usage: "largest YAML file to read, in bytes"},
		},
		Action: func(c *cli.Context) error {
			write := validate.WriteText
			switch c.String("output") {
			case "json":
				write = validate.WriteJSON
			case "text":
			default:
				return stepcli.Usagef("--output %q: use text or json", c.String("output"))
			}
			opts := []validate.Option{validate.WithRoot(c.String("root")), validate.WithMaxFileSize(c.Int64("max-file-size"))}
			if c.Bool("tekton-only") {
				opts = append(opts, validate.TektonOnly())
			}
			var problems []tekton.Problem
			var err error
			if c.NArg() == 0 {
				problems, err = validate.Repository(c.Context, opts...)
			} else {
				problems, err = validate.Paths(c.Context, c.Args().Slice(), opts...)
			}
			if err != nil {
				return err
			}
			if err := write(c.App.Writer, problems); err != nil {
				return err
			}
			if n := validate.Errors(problems); n > 0 {
				return exitcode.CheckFailedf("%d problem(s)", n)
			}
			fmt.Fprintln(c.App.ErrWriter, "trustline validate: no problems")
			return nil
		},
	}
}

func docsCommand() *cli.Command {
	return &cli.Command{
		Name:  "docs",
		Usage: "regenerate every task and pipeline README from its YAML",
		Description: `Writes tasks/<name>/<version>/README.md (and the pipelines' READMEs)
from the YAML beside it, keeping the text between <!-- trustline:keep -->
markers. trustline validate fails when a README is out of date.

Example:
   trustline docs`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: ".", Usage: "repository root"},
		},
		Action: func(c *cli.Context) error {
			changed, err := taskdoc.WriteReadmes(c.Context, c.String("root"))
			if err != nil {
				return err
			}
			for _, f := range changed {
				fmt.Fprintln(c.App.ErrWriter, "wrote", f)
			}
			fmt.Fprintf(c.App.ErrWriter, "trustline docs: %d README(s) updated\n", len(changed))
			return nil
		},
	}
}
