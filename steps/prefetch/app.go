package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/prefetch"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func newApp() *cli.App {
	return &cli.App{
		Name:  "prefetch",
		Usage: "fetch a source's pinned dependencies for a hermetic build",
		UsageText: `prefetch --input INPUT --source DIR --output-dir DIR [options]

Example:
   prefetch --input '[{"type":"gomod","path":"."},{"type":"npm","path":"web"}]' \
     --source /workspace/source --output-dir /workspace/prefetch \
     --cache-dir /workspace/prefetch-cache --results-dir /tekton/results`,
		Description: `INPUT is Hermeto's (formerly Cachi2's): a package type alone ("gomod"), one
JSON object {"type":"gomod","path":"."} or a JSON array of them. Types:
   gomod    go.mod and go.sum; every module version of go.sum through the
            module proxy protocol (GOPROXY), zips and go.mod files checked
            against go.sum's h1: hashes, laid out as a GOMODCACHE
   npm      package-lock.json (lockfileVersion 2 or 3); every tarball
            checked against its integrity, written to npm's cache
   pip      requirements.txt ("requirements_files"), every requirement
            name==version with --hash=sha256:…; the files with a pinned
            hash are fetched from the simple index (--pip-index)
   generic  artifacts.lock.yaml ("lockfile"): download_url, checksum,
            filename
A package no checksum pins is an error that names it.

The output directory (absent or empty) receives deps/, prefetch.env (the
environment that points Go, npm and pip at deps/ once the directory is
mounted at --mount-path, with no network) and sbom.cdx.json (a CycloneDX 1.6
SBOM of every dependency fetched, with purls and hashes). Nothing is left in
it unless every file was fetched and checked. With --cache-dir, verified
files are kept by checksum and reused on the next run.

Results: SBOM_DIGEST, and PREFETCH_ARTIFACT_INPUTS ({"uri": the SBOM's serial
number, "digest": its sha256}), which Tekton Chains records as a resolved dependency of the build.
Exit codes: 0 fetched, 2 bad input, an unpinned package, a checksum
mismatch or a download that failed.`,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Required: true, Usage: "what to prefetch, Hermeto's `INPUT` (see above)"},
			&cli.StringFlag{Name: "source", Value: ".", Usage: "source `DIR` holding the lockfiles"},
			&cli.StringFlag{Name: "output-dir", Required: true, Usage: "empty `DIR` to fill"},
			&cli.StringFlag{Name: "cache-dir", Usage: "keep verified files in `DIR`, keyed by checksum (default: no cache)"},
			&cli.StringFlag{Name: "goproxy", EnvVars: []string{"GOPROXY"}, Usage: "Go module proxy `URL` (default: the Go default proxy)"},
			&cli.StringFlag{Name: "npm-registry", EnvVars: []string{"npm_config_registry"}, Usage: "npm registry `URL` for lockfile entries without a resolved URL (default: the public npm registry)"},
			&cli.StringFlag{Name: "pip-index", EnvVars: []string{"PIP_INDEX_URL"}, Usage: "PEP 503 simple index `URL` (default: the Python Package Index)"},
			&cli.StringFlag{Name: "mount-path", Value: prefetch.DefaultMountPath, Usage: "`PATH` where the build mounts the output directory"},
			&cli.IntFlag{Name: "parallelism", Value: 8, Usage: "fetch `N` files at once"},
			stepcli.JSONOutputFlag(),
			stepcli.ResultsDirFlag(),
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	pkgs, err := prefetch.ParseInput(c.String("input"))
	if err != nil {
		return stepcli.Usagef("--input: %v", err)
	}
	res, err := prefetch.Prefetch(c.Context, c.String("source"), c.String("output-dir"), pkgs,
		prefetch.WithCacheDir(c.String("cache-dir")),
		prefetch.WithGoProxy(c.String("goproxy")),
		prefetch.WithNPMRegistry(c.String("npm-registry")),
		prefetch.WithPipIndex(c.String("pip-index")),
		prefetch.WithMountPath(c.String("mount-path")),
		prefetch.WithParallelism(c.Int("parallelism")),
		prefetch.WithProgress(c.App.ErrWriter),
	)
	if err != nil {
		return err
	}
	dir := stepcli.Results(c)
	if err := dir.Write("SBOM_DIGEST", res.SBOMDigest); err != nil {
		return err
	}
	if err := dir.WriteJSON("PREFETCH_ARTIFACT_INPUTS", map[string]string{
		"uri":    res.SBOMSerial,
		"digest": res.SBOMDigest,
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "prefetch: SBOM %s (%s)\n", res.SBOM, res.SBOMDigest)
	return stepcli.PrintJSON(c, res)
}
