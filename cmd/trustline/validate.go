package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/tekton"
	"github.com/trustline-dev/trustline/internal/validate"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check Tasks and Pipelines as the Tekton webhook would, then the library's conventions",
		ArgsUsage: "[PATH...]",
		Description: `Loads every Task, Pipeline, TaskRun, PipelineRun and StepAction with
github.com/tektoncd/pipeline's own types (strict decoding, defaults,
Validate), then checks the conventions in docs/task-conventions.md. With no
PATH it checks the whole repository: tasks/, pipelines/, their READMEs and
catalog.yaml. Prints one "file: field: message" line per problem and exits
1 when there is any.

Examples:
   trustline validate
   trustline validate tasks/git-clone/0.1/git-clone.yaml
   trustline validate --tekton-only .tekton/`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "tekton-only", Usage: "check only what Tekton itself rejects (for resources written elsewhere)"},
			&cli.StringFlag{Name: "root", Value: ".", Usage: "repository root that layout and catalog checks are relative to"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
		},
		Action: func(c *cli.Context) error {
			opts := []validate.Option{validate.WithRoot(c.String("root"))}
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
			switch c.String("output") {
			case "json":
				type jsonProblem struct {
					File    string `json:"file"`
					Field   string `json:"field"`
					Message string `json:"message"`
				}
				out := make([]jsonProblem, 0, len(problems))
				for _, p := range problems {
					out = append(out, jsonProblem{p.File, p.Field, p.Message})
				}
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			case "text":
				for _, p := range problems {
					fmt.Fprintln(os.Stdout, p.String())
				}
			default:
				return fmt.Errorf("--output %q: use text or json", c.String("output"))
			}
			if len(problems) > 0 {
				return exitcode.CheckFailedf("%d problem(s)", len(problems))
			}
			fmt.Fprintln(os.Stderr, "trustline validate: no problems")
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
			changed, err := validate.WriteReadmes(c.Context, validate.WithRoot(c.String("root")))
			if err != nil {
				return err
			}
			for _, f := range changed {
				fmt.Fprintln(os.Stderr, "wrote", f)
			}
			fmt.Fprintf(os.Stderr, "trustline docs: %d README(s) updated\n", len(changed))
			return nil
		},
	}
}
