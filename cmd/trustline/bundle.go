package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/bundle"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

// insecureFlag is --insecure of the commands that push to or pull from a
// registry (bundle, catalog publish).
func insecureFlag() cli.Flag {
	return &cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to a registry that is not on loopback"}
}

func bundleCommand() *cli.Command {
	insecure := insecureFlag()
	output := &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"}
	return &cli.Command{
		Name:  "bundle",
		Usage: "push, list and pull Tekton bundles (OCI images of Tasks and Pipelines)",
		Description: `Tekton bundles as tkn bundle push makes them: one gzip tar layer per
resource, annotated dev.tekton.image.{apiVersion,kind,name}, at most 20
resources, reproducible (fixed created time: same input, same digest).
list and pull read any Tekton bundle, including ones tkn pushed.

Examples:
   trustline bundle push tasks/git-clone/0.1/git-clone.yaml ghcr.io/acme/task-git-clone:0.1
   trustline bundle list ghcr.io/acme/task-git-clone:0.1
   trustline bundle pull ghcr.io/acme/task-git-clone@sha256:... ./out`,
		Subcommands: []*cli.Command{
			bundlePushCommand(insecure, output),
			bundleListCommand(insecure, output),
			bundlePullCommand(insecure),
		},
	}
}

func bundlePushCommand(insecure, output cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "build a bundle from YAML/JSON files and push it",
		ArgsUsage: "FILE... REF",
		Description: `Each FILE holds one or more Tekton resources (--- separated). Prints the
pushed digest reference on stdout.

Example:
   trustline bundle push --version 0.1.0 --source https://github.com/acme/tasks \
     --revision $(git rev-parse HEAD) tasks/git-clone/0.1/git-clone.yaml \
     ghcr.io/acme/task-git-clone:0.1`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "annotate", Usage: "OCI manifest annotation `KEY=VALUE` (repeatable)"},
			&cli.StringSliceFlag{Name: "label", Usage: "config label `KEY=VALUE` (repeatable)"},
			&cli.StringFlag{Name: "ctime", Usage: "created time (YYYY-MM-DD or RFC 3339); default SOURCE_DATE_EPOCH, else 1970-01-01 as tkn"},
			&cli.StringFlag{Name: "source-date-epoch", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Hidden: true},
			&cli.StringFlag{Name: "source", Usage: "org.opencontainers.image.source: the repository `URL`"},
			&cli.StringFlag{Name: "revision", Usage: "org.opencontainers.image.revision: the source commit"},
			&cli.StringFlag{Name: "version", Usage: "org.opencontainers.image.version"},
			&cli.StringFlag{Name: "documentation", Usage: "org.opencontainers.image.documentation `URL`"},
			insecure, output,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return stepcli.Usagef("bundle push needs at least one FILE and a REF (see --help)")
			}
			args := c.Args().Slice()
			ref, err := remoteopt.ParseReference(args[len(args)-1], remoteopt.Insecure(c.Bool("insecure")))
			if err != nil {
				return stepcli.Usagef("%v", err)
			}
			ann, err := keyValues("--annotate", c.StringSlice("annotate"))
			if err != nil {
				return err
			}
			labels, err := keyValues("--label", c.StringSlice("label"))
			if err != nil {
				return err
			}
			created, err := bundle.Created(c.String("ctime"), c.String("source-date-epoch"))
			if err != nil {
				return stepcli.Usagef("%v", err)
			}
			opts := []bundle.Option{
				bundle.WithAnnotations(ann), bundle.WithLabels(labels), bundle.WithCreated(created),
				bundle.WithSource(c.String("source"), c.String("revision")),
				bundle.WithVersion(c.String("version")), bundle.WithDocumentation(c.String("documentation")),
				bundle.WithProgress(c.App.ErrWriter),
			}
			fmt.Fprintln(c.App.ErrWriter, "Creating Tekton Bundle:")
			p, err := bundle.Push(c.Context, args[:len(args)-1], ref, remoteopt.Options(c.Context), opts...)
			if err != nil {
				return err
			}
			if c.String("output") == "json" {
				return stepcli.WriteJSON(c.App.Writer, map[string]any{"digest": p.Digest.String(), "resources": p.Resources})
			}
			fmt.Fprintf(c.App.ErrWriter, "Pushed Tekton Bundle to %s\n", p.Digest)
			fmt.Fprintln(c.App.Writer, p.Digest.String())
			return nil
		},
	}
}

func bundleListCommand(insecure, output cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the resources of a bundle",
		ArgsUsage: "REF",
		Description: `Prints kind, name and apiVersion of each resource (a table), or with
--output json the resources themselves.

Example:
   trustline bundle list ghcr.io/acme/task-git-clone:0.1`,
		Flags: []cli.Flag{insecure, output},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return stepcli.Usagef("bundle list needs exactly one REF")
			}
			ref, err := remoteopt.ParseReference(c.Args().First(), remoteopt.Insecure(c.Bool("insecure")))
			if err != nil {
				return stepcli.Usagef("%v", err)
			}
			res, d, err := bundle.List(c.Context, ref, remoteopt.Options(c.Context))
			if err != nil {
				return err
			}
			if c.String("output") == "json" {
				type item struct {
					bundle.Resource
					Object json.RawMessage `json:"object"`
				}
				items := make([]item, 0, len(res))
				for _, r := range res {
					items = append(items, item{r, r.Object()})
				}
				return stepcli.WriteJSON(c.App.Writer, map[string]any{"digest": d.String(), "resources": items})
			}
			fmt.Fprintln(c.App.ErrWriter, d.String())
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tNAME\tAPIVERSION\tLAYER")
			for _, r := range res {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Kind, r.Name, r.APIVersion, r.Layer)
			}
			return tw.Flush()
		},
	}
}

func bundlePullCommand(insecure cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "write each resource of a bundle into a directory as <kind>-<name>.yaml",
		ArgsUsage: "REF DIR",
		Description: `Example:
   trustline bundle pull ghcr.io/acme/task-git-clone:0.1 ./git-clone`,
		Flags: []cli.Flag{insecure},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return stepcli.Usagef("bundle pull needs REF and DIR")
			}
			ref, err := remoteopt.ParseReference(c.Args().Get(0), remoteopt.Insecure(c.Bool("insecure")))
			if err != nil {
				return stepcli.Usagef("%v", err)
			}
			files, err := bundle.Pull(c.Context, ref, c.Args().Get(1), remoteopt.Options(c.Context))
			for _, f := range files {
				fmt.Fprintln(c.App.Writer, f)
			}
			return err
		},
	}
}

func keyValues(flag string, kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, stepcli.Usagef("%s %q: want KEY=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}
