package main

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/gitclone"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func newApp() *cli.App {
	return &cli.App{
		Name:      "git-clone",
		Usage:     "clone a Git repository at a revision and write Tekton results",
		UsageText: "git-clone --url URL [--revision REV] --target DIR [options]",
		Description: `Clones URL (https://, http://, file:// or a local path) at REV (a branch,
tag, full ref or commit SHA; default: the remote's default branch) into the
empty directory DIR, shallow unless --depth 0. Writes the results commit,
url, short-commit, commit-timestamp, CHAINS-GIT_URL and CHAINS-GIT_COMMIT.

Example:
   git-clone --url https://github.com/tektoncd/catalog --revision main \
     --target /workspace/source --results-dir /tekton/results`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Required: true, Usage: "repository `URL`"},
			&cli.StringFlag{Name: "revision", Usage: "branch, tag, ref or commit `REV` (default: the remote's HEAD)"},
			&cli.StringFlag{Name: "target", Required: true, Usage: "empty `DIR` to clone into"},
			&cli.IntFlag{Name: "depth", Value: 1, Usage: "history depth; 0 for all history"},
			&cli.BoolFlag{Name: "submodules", Usage: "also clone submodules"},
			&cli.BoolFlag{Name: "delete-existing", Usage: "empty the target directory first"},
			stepcli.JSONOutputFlag(),
			stepcli.ResultsDirFlag(),
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	fmt.Fprintf(c.App.ErrWriter, "cloning %s (revision %q) into %s\n", gitclone.RedactURL(c.String("url")), c.String("revision"), c.String("target"))
	res, err := gitclone.Clone(c.Context, c.String("url"), c.String("target"),
		gitclone.WithRevision(c.String("revision")),
		gitclone.WithDepth(c.Int("depth")),
		gitclone.WithSubmodules(c.Bool("submodules")),
		gitclone.WithDeleteExisting(c.Bool("delete-existing")),
		gitclone.WithProgress(gitclone.LineProgress(c.App.ErrWriter)),
	)
	if err != nil {
		return err
	}
	if err := stepcli.WriteResults(c, [][2]string{
		{"commit", res.Commit},
		{"url", res.URL},
		{"short-commit", res.ShortCommit},
		{"commit-timestamp", strconv.FormatInt(res.CommitTimestamp, 10)},
		{"CHAINS-GIT_URL", res.URL},
		{"CHAINS-GIT_COMMIT", res.Commit},
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "checked out %s at %s\n", res.URL, res.Commit)
	return stepcli.PrintJSON(c, res)
}
