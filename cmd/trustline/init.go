package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/pac"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "write Pipelines-as-Code PipelineRuns (.tekton/) that build a repository with the secure pipeline",
		ArgsUsage: "[REPO_DIR]",
		Description: `Writes .tekton/<name>-pull-request.yaml and .tekton/<name>-push.yaml in
REPO_DIR (default .): PipelineRuns that Pipelines-as-Code starts on pull
requests and on pushes to --branch (on-cel-expression), running the
docker-build pipeline from its bundle pinned by digest, with {{repo_url}}
and {{revision}}. The bundle comes from --pipeline-bundle, or from the
trustline catalog given with --catalog. Existing files are kept unless
--force. Both files pass trustline validate.

Example:
   trustline init --image quay.io/acme/my-app --catalog ~/src/trustline/catalog.yaml ~/src/my-app`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Required: true, Usage: "repository to push to, without tag (e.g. quay.io/acme/my-app)"},
			&cli.StringFlag{Name: "name", Usage: "component name (default: the directory's name)"},
			&cli.StringFlag{Name: "pipeline-bundle", Usage: "docker-build bundle `REF` pinned by digest"},
			&cli.StringFlag{Name: "catalog", Value: catalog.FileName, Usage: "trustline catalog `FILE` to take the pipeline bundle from"},
			&cli.StringFlag{Name: "branch", Value: "main", Usage: "branch whose pushes are built"},
			&cli.StringFlag{Name: "path-context", Value: ".", Usage: "build context in the repository"},
			&cli.StringFlag{Name: "dockerfile", Usage: "Containerfile, relative to the context (default Containerfile, then Dockerfile)"},
			&cli.BoolFlag{Name: "hermetic", Usage: "build without network"},
			&cli.StringFlag{Name: "public-key-secret", Value: "cosign-public-key", Usage: "Secret holding cosign.pub for the policy gate"},
			&cli.StringFlag{Name: "osv-claim", Value: "osv-db", Usage: "PersistentVolumeClaim holding the OSV database"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite existing files"},
		},
		Action: func(c *cli.Context) error {
			dir := c.Args().First()
			if dir == "" {
				dir = "."
			}
			if c.NArg() > 1 {
				return stepcli.Usagef("init takes at most one REPO_DIR")
			}
			name := c.String("name")
			if name == "" {
				abs, err := filepath.Abs(dir)
				if err != nil {
					return err
				}
				name = pac.NameFrom(filepath.Base(abs))
			}
			bundleRef := c.String("pipeline-bundle")
			if bundleRef == "" {
				cat, err := catalog.Load(c.String("catalog"))
				if err != nil {
					return stepcli.Usagef("no --pipeline-bundle and no catalog to take it from: %v", err)
				}
				if bundleRef, err = pac.BundleFromCatalog(cat, pac.DefaultPipeline); err != nil {
					return stepcli.Usagef("%v", err)
				}
			}
			files, err := pac.Generate(pac.Options{
				Name: name, Image: c.String("image"), PipelineBundle: bundleRef, Branch: c.String("branch"),
				PathContext: c.String("path-context"), Dockerfile: c.String("dockerfile"), Hermetic: c.Bool("hermetic"),
				PublicKeySecret: c.String("public-key-secret"), OSVClaim: c.String("osv-claim"),
			})
			if err != nil {
				return stepcli.Usagef("%v", err)
			}
			written, err := pac.Write(dir, files, c.Bool("force"))
			for _, f := range written {
				fmt.Fprintln(c.App.Writer, filepath.Join(dir, f))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "trustline init: wrote %d PipelineRun(s); bind the %s Secret and %s claim in the namespace Pipelines-as-Code runs in\n",
				len(written), c.String("public-key-secret"), c.String("osv-claim"))
			return nil
		},
	}
}
