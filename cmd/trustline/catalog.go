package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/catalog/outdated"
	"github.com/trustline-dev/trustline/internal/catalog/publish"
	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func catalogCommand() *cli.Command {
	root := &cli.StringFlag{Name: "root", Value: ".", Usage: "repository root (holding catalog.yaml, tasks/, pipelines/)"}
	return &cli.Command{
		Name:  "catalog",
		Usage: "keep catalog.yaml in step, publish the library, and tell users what to trust and update",
		Description: `Examples:
   trustline catalog sync
   trustline catalog publish --registry ghcr.io/acme/trustline --key cosign.key
   trustline catalog trusted-tasks --output rule-data.yaml
   trustline catalog rule-data --output data/trustline.yaml
   trustline catalog outdated --catalog ../trustline/catalog.yaml .tekton/*.yaml`,
		Subcommands: []*cli.Command{
			catalogSyncCommand(root),
			catalogPublishCommand(root),
			catalogTrustedTasksCommand(),
			catalogRuleDataCommand(),
			catalogOutdatedCommand(),
		},
	}
}

func catalogSyncCommand(root cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "record every task and pipeline version of the tree in catalog.yaml",
		Description: `Adds new versions with their step images and content digest, moves a
directory's entry to its new version (keeping its publication history),
and refuses a published version whose YAML changed without a new version.

Examples:
   trustline catalog sync
   trustline catalog sync --check   # in CI: exit 1 if catalog.yaml is not in step`,
		Flags: []cli.Flag{root, &cli.BoolFlag{Name: "check", Usage: "write nothing; exit 1 if catalog.yaml would change"}},
		Action: func(c *cli.Context) error {
			run := publish.Sync
			if c.Bool("check") {
				run = publish.Check
			}
			changes, err := run(c.String("root"), c.App.ErrWriter)
			if err != nil {
				if errors.Is(err, publish.ErrChangedWithoutVersion) {
					return exitcode.CheckFailedf("%v", err)
				}
				return err
			}
			if c.Bool("check") && len(changes) > 0 {
				return exitcode.CheckFailedf("catalog.yaml is not in step with the tree (%d change(s)): run `trustline catalog sync`", len(changes))
			}
			fmt.Fprintf(c.App.ErrWriter, "trustline catalog sync: %d change(s)\n", len(changes))
			return nil
		},
	}
}

func catalogPublishCommand(root cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "publish",
		Usage: "build and push step images, pin them, push and sign one bundle per version, record digests",
		Description: `Builds each step image FROM scratch with the binary from bin/ (run make
build first) plus the shared libraries it links and the CA bundle, pushes
it to REPO/step-<name>, pins its digest into the task YAMLs, then pushes
REPO/task-<name>:<major.minor> (and the immutable <major.minor>-<commit>
tag) for every task version whose content changed since it was last
published, then the pipelines with their task references pinned. Signs
what it pushes when --key is given (COSIGN_PASSWORD for an encrypted
key). Records every digest in catalog.yaml and regenerates the READMEs.
Publishing the same tree twice changes nothing.

Example:
   make build && trustline catalog publish --registry ghcr.io/acme/trustline --key cosign.key`,
		Flags: []cli.Flag{
			root,
			&cli.StringFlag{Name: "registry", Usage: "repository prefix `REPO` to publish to (default: catalog.yaml's registry)"},
			&cli.StringFlag{Name: "bin", Usage: "directory of the step binaries (default ROOT/bin)"},
			&cli.StringFlag{Name: "key", Usage: "cosign private key `FILE` to sign step images and bundles with"},
			&cli.StringFlag{Name: "key-password", EnvVars: []string{"COSIGN_PASSWORD"}, Hidden: true},
			&cli.StringFlag{Name: "commit", Usage: "source commit to record (default: HEAD of the repository)"},
			&cli.StringFlag{Name: "source", Usage: "source repository URL to record (default: the origin remote)"},
			insecureFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json (the report on stdout)"},
		},
		Action: func(c *cli.Context) error {
			opts := []publish.Option{
				publish.WithRegistry(c.String("registry")),
				publish.WithBinDir(c.String("bin")),
				publish.WithProgress(c.App.ErrWriter),
				publish.WithRemoteOptions(remoteopt.Options(c.Context)...),
				publish.WithInsecure(c.Bool("insecure")),
			}
			if c.String("commit") != "" || c.String("source") != "" {
				if c.String("commit") == "" {
					return stepcli.Usagef("--source needs --commit")
				}
				opts = append(opts, publish.WithSource(c.String("source"), c.String("commit")))
			}
			if k := c.String("key"); k != "" {
				s, err := signing.Load(k, signing.WithPassword([]byte(c.String("key-password"))))
				if err != nil {
					return stepcli.Usagef("--key %s: %v", k, err)
				}
				opts = append(opts, publish.WithSigner(s))
			} else {
				fmt.Fprintln(c.App.ErrWriter, "warning: no --key: step images and bundles are pushed unsigned")
			}
			rep, err := publish.Publish(c.Context, c.String("root"), opts...)
			if err != nil {
				if errors.Is(err, publish.ErrChangedWithoutVersion) {
					return exitcode.CheckFailedf("%v", err)
				}
				return err
			}
			if c.String("output") == "json" {
				return stepcli.WriteJSON(c.App.Writer, rep)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tNAME\tVERSION\tPUSHED\tBUNDLE")
			for _, b := range rep.Bundles {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", b.Kind, b.Name, b.Version, b.Pushed, b.Bundle)
			}
			return tw.Flush()
		},
	}
}

func catalogTrustedTasksCommand() *cli.Command {
	return &cli.Command{
		Name:  "trusted-tasks",
		Usage: "write Conforma trusted_tasks rule data for every published task bundle",
		Description: `Keys are oci://REPO/task-<name>:<major.minor>; each lists the bundle
digests published under it, newest first, with effective_on and
expires_on. A superseded digest stays trusted for --grace after it was
replaced; a version with expires_on in catalog.yaml (deprecated) carries
that expiry. The verify-policy step reads it as rule data.

Examples:
   trustline catalog trusted-tasks > trusted-tasks.yaml
   trustline catalog trusted-tasks --format json --grace 720h --output data/trusted_tasks.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "catalog", Value: catalog.FileName, Usage: "catalog `FILE`"},
			&cli.DurationFlag{Name: "grace", Value: catalog.DefaultGrace, Usage: "how long a superseded digest stays trusted"},
			&cli.StringFlag{Name: "format", Value: "yaml", Usage: "yaml or json"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			cat, err := catalog.Load(c.String("catalog"))
			if err != nil {
				return err
			}
			rd, err := cat.TrustedTasks(c.Duration("grace"))
			if err != nil {
				return fmt.Errorf("%s: %w", c.String("catalog"), err)
			}
			return writeRuleData(c, rd)
		},
	}
}

func catalogRuleDataCommand() *cli.Command {
	return &cli.Command{
		Name:  "rule-data",
		Usage: "write the data Conforma's release policy needs for the library's pipelines, in Conforma's layout",
		Description: `One data document for a policy source's data: trusted_tasks (as
trusted-tasks writes it), pipeline-required-tasks (per pipeline, one entry
per published version listing the Task names it runs, effective from its
first publication; a pipeline with no published version lists its newest
version from --unpublished-effective-on), required-tasks (the Tasks every
pipeline runs) and rule_data: allowed_step_image_registry_prefixes (where
the step images live) and allowed_registry_prefixes (--allowed-registry).

Examples:
   trustline catalog rule-data --output data/trustline.yaml
   trustline catalog rule-data --allowed-registry registry.access.redhat.com/ --format json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "catalog", Value: catalog.FileName, Usage: "catalog `FILE` (pipeline paths are relative to its directory)"},
			&cli.DurationFlag{Name: "grace", Value: catalog.DefaultGrace, Usage: "how long a superseded task digest stays trusted"},
			&cli.StringSliceFlag{Name: "allowed-registry", Usage: "allow base images from `PREFIX` (allowed_registry_prefixes; repeatable)"},
			&cli.StringFlag{Name: "unpublished-effective-on", Value: "1970-01-01", Usage: "effective_on `DATE` of a pipeline not published yet"},
			&cli.StringFlag{Name: "format", Value: "yaml", Usage: "yaml or json"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			path := c.String("catalog")
			cat, err := catalog.Load(path)
			if err != nil {
				return err
			}
			on, err := catalog.ParseDate(c.String("unpublished-effective-on"))
			if err != nil {
				return stepcli.Usagef("--unpublished-effective-on: %v", err)
			}
			rd, err := cat.ConformaData(catalog.ConformaOptions{Root: filepath.Dir(path), Grace: c.Duration("grace"),
				UnpublishedOn: on, AllowedRegistries: c.StringSlice("allowed-registry")})
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if len(c.StringSlice("allowed-registry")) == 0 {
				// Found on the e2e cluster: Conforma's minimal collection
				// fails base_image_registries.allowed_registries_provided on
				// an empty list, even for an image FROM scratch.
				fmt.Fprintln(c.App.ErrWriter, "trustline catalog rule-data: warning: no --allowed-registry: Conforma's base_image_registries rules fail on an empty allowed_registry_prefixes; give the registries your base images come from")
			}
			return writeRuleData(c, rd)
		},
	}
}

func catalogOutdatedCommand() *cli.Command {
	return &cli.Command{
		Name:      "outdated",
		Usage:     "list bundle references in your pipelines that are not newest, deprecated or expiring",
		ArgsUsage: "FILE...",
		Description: `Reads Pipelines, PipelineRuns and TaskRuns (e.g. .tekton/*.yaml) and
reports every reference to this library's bundles that is superseded, has
a newer version, is deprecated, or will expire from policy's trusted tasks
(within --within), with the dates and the CHANGELOG entries since. Exits 1
when there is any. --fix rewrites each reference to the newest bundle.

Examples:
   trustline catalog outdated --catalog ../trustline/catalog.yaml .tekton/*.yaml
   trustline catalog outdated --fix .tekton/push.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "catalog", Value: catalog.FileName, Usage: "the library's catalog `FILE` (CHANGELOGs are read beside it)"},
			&cli.BoolFlag{Name: "fix", Usage: "rewrite references to the newest bundles"},
			&cli.DurationFlag{Name: "grace", Value: catalog.DefaultGrace, Usage: "how long a superseded digest stays trusted"},
			&cli.DurationFlag{Name: "within", Value: 30 * 24 * time.Hour, Usage: "report references expiring within this long"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return stepcli.Usagef("outdated needs at least one FILE")
			}
			all, fixed, err := outdated.CheckFiles(c.String("catalog"), c.Args().Slice(),
				outdated.WithGrace(c.Duration("grace")),
				outdated.WithWithin(c.Duration("within")),
				outdated.WithFix(c.Bool("fix")),
			)
			if err != nil {
				return err
			}
			if c.String("output") == "json" {
				if all == nil {
					all = []outdated.Finding{}
				}
				if err := stepcli.WriteJSON(c.App.Writer, all); err != nil {
					return err
				}
			} else {
				printFindings(c.App.Writer, all)
			}
			if c.Bool("fix") {
				fmt.Fprintf(c.App.ErrWriter, "trustline catalog outdated: rewrote %d file(s)\n", fixed)
				return nil
			}
			if len(all) > 0 {
				return exitcode.CheckFailedf("%d outdated bundle reference(s)", len(all))
			}
			fmt.Fprintln(c.App.ErrWriter, "trustline catalog outdated: every bundle reference is current")
			return nil
		},
	}
}

func printFindings(w io.Writer, fs []outdated.Finding) {
	for _, f := range fs {
		fmt.Fprintf(w, "%s:%d: %s %s %s: %s\n", f.File, f.Line, f.Kind, f.Name, orUnknown(f.Version), f.Message)
		if f.Newest != "" && f.Newest != f.Ref {
			fmt.Fprintf(w, "    use: %s\n", f.Newest)
		}
		for _, ch := range f.Changes {
			date := ""
			if ch.Date != "" {
				date = " (" + ch.Date + ")"
			}
			fmt.Fprintf(w, "    %s%s:\n", ch.Version, date)
			for _, l := range strings.Split(ch.Notes, "\n") {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
}

func orUnknown(v string) string {
	if v == "" {
		return "(unknown digest)"
	}
	return v
}

// writeRuleData writes rule data as --format says (yaml or json) to --output
// or stdout: what trusted-tasks and rule-data share.
func writeRuleData(c *cli.Context, rd any) error {
	var b []byte
	var err error
	switch c.String("format") {
	case "json":
		b, err = json.MarshalIndent(rd, "", "  ")
		b = append(b, '\n')
	case "yaml":
		b, err = yaml.Marshal(rd)
	default:
		return stepcli.Usagef("--format %q: use yaml or json", c.String("format"))
	}
	if err != nil {
		return err
	}
	if out := c.String("output"); out != "" {
		return outfile.Write(out, b, outfile.WithStdout(c.App.Writer))
	}
	_, err = c.App.Writer.Write(b)
	return err
}
