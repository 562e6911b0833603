package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/sbom"
	"github.com/trustline-dev/trustline/internal/sbom/layerfs"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func newApp() *cli.App {
	return &cli.App{
		Name:  "sbom",
		Usage: "write (and attach) the SBOM of a container image",
		UsageText: `sbom --image REF [--oci-layout DIR] [--format cyclonedx|spdx] [--output FILE] [--attach] [options]

Example:
   sbom --image quay.io/acme/app@sha256:3f2c... --format cyclonedx \
     --source-url https://github.com/acme/app --source-commit 3f2c1e0 \
     --cache-dir /workspace/cache/sbom --output sbom.cdx.json --attach \
     --results-dir /tekton/results`,
		Description: `Reads the image from the registry (or from --oci-layout), unpacks each layer
into a private temporary directory (names cleaned, links kept inside it,
devices skipped, sizes capped) and catalogs it with syft's image catalogers
(dpkg, apk and RPM databases, Go and Rust binaries, node_modules, Python,
Java). Layer results are squashed as the container runtime would and cached
per layer in --cache-dir, so a rebuild that shares its base layers only
catalogs its new ones.

The document names the image as a pkg:oci/...@sha256 PURL with its
repository, the base image (from the org.opencontainers.image.base.name and
.base.digest annotations the build step writes), the source repository and
commit, the supplier (--supplier, else the vendor label), the tools, a
timestamp, a serial number, a PURL, licences, supplier and hashes per
package where known, and the dependency graph.

--prefetch-sbom merges the dependencies the prefetch step fetched for the
build (its sbom.cdx.json) into a CycloneDX SBOM: every component then
carries the property trustline:origin, "image" for what was found in the
image and "prefetch" for what was fetched for the build (both for a package
found in both). A FILE that does not exist means nothing was prefetched.

For an image index, each platform image gets its own SBOM (written beside
--output as FILE.<os>-<arch>.json) and the index gets one naming them.

--attach pushes each SBOM next to its image twice over one blob: as an OCI
1.1 referrer (artifactType application/vnd.cyclonedx+json or
application/spdx+json) and under cosign's tag sha256-<hex>.sbom. It then
writes the results SBOM_BLOB_URL (repo@sha256:<blob>) and
SBOM_ARTIFACT_OUTPUTS ({"uri": repo, "digest": "sha256:<blob>"}).

Every layer is checked as it streams: its compressed bytes against the
manifest's digest and size, the uncompressed tar against the config's
diff_id. A layer whose bytes do not match is an error naming it, and the
cache only holds layers that matched.

Registry credentials come from DOCKER_CONFIG. Exit codes: 0 written, 2 an
error (bad reference, unreachable registry, a layer over the size limits,
a layer whose bytes do not match its digests).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Required: true, Usage: "the image `REF` (repo:tag or repo@sha256:...); with --oci-layout, its repository and which manifest to use"},
			&cli.StringFlag{Name: "digest", Usage: "pin --image to `DIGEST` (sha256:...), as the build task's IMAGE_DIGEST result gives it"},
			&cli.StringFlag{Name: "oci-layout", Usage: "read the image from the OCI layout `DIR` instead of the registry"},
			&cli.StringFlag{Name: "format", Value: "cyclonedx", Usage: "`FORMAT`: cyclonedx (1.6 JSON) or spdx (2.3 JSON)"},
			&cli.StringFlag{Name: "output", Usage: "write the SBOM to `FILE` (- for stdout)"},
			&cli.StringFlag{Name: "output-dir", Usage: "with --output-name, write the SBOM into `DIR` (ignored when empty: an unbound Tekton workspace)"},
			&cli.StringFlag{Name: "output-name", Value: "sbom.json", Usage: "file `NAME` inside --output-dir"},
			&cli.StringFlag{Name: "prefetch-sbom", Usage: "merge the prefetch step's CycloneDX SBOM `FILE` (absent: nothing was prefetched)"},
			&cli.BoolFlag{Name: "attach", Usage: "push the SBOM next to the image (OCI referrer and cosign .sbom tag)"},
			&cli.StringFlag{Name: "cache-dir", Usage: "cache layer catalogs in `DIR` across runs"},
			&cli.StringFlag{Name: "source-url", Usage: "source repository `URL` (default: the image's org.opencontainers.image.source)"},
			&cli.StringFlag{Name: "source-commit", Usage: "source `COMMIT` (default: the image's org.opencontainers.image.revision)"},
			&cli.StringFlag{Name: "supplier", Usage: "the `ORGANISATION` supplying the image (default: the org.opencontainers.image.vendor label)"},
			&cli.StringFlag{Name: "author", Usage: "who made the SBOM, `NAME` (default: the org.opencontainers.image.authors label, else the tool)"},
			&cli.Int64Flag{Name: "max-file-size", Value: layerfs.DefaultMaxFileSize, Usage: "skip files over `BYTES` when unpacking layers"},
			&cli.Int64Flag{Name: "max-layer-size", Value: layerfs.DefaultMaxTotalSize, Usage: "fail on a layer that expands beyond `BYTES`"},
			&cli.StringFlag{Name: "temp-dir", Usage: "unpack layers below `DIR` (default: the system temporary directory)"},
			&cli.StringFlag{Name: "spill-dir", Usage: "unpack a layer below `DIR` when --temp-dir is full (a size-limited tmpfs, say); default: fail"},
			stepcli.TLSVerifyFlag(),
			stepcli.ResultsDirFlag(),
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	inv, err := parseInvocation(c)
	if err != nil {
		return err
	}
	res, err := sbom.Generate(c.Context, inv.req, inv.opts...)
	if err != nil {
		return err
	}
	if out := inv.output; out != "" {
		if err := writeOutputs(c, out, res); err != nil {
			return err
		}
	}
	printSummary(c.App.ErrWriter, res)
	return writeResults(c, res)
}

// invocation is what the flags ask run to do: the SBOM to generate, and
// where to write it ("" for nowhere, "-" for stdout).
type invocation struct {
	req    sbom.Request
	opts   []sbom.Option
	output string
}

// parseInvocation reads and checks the flags, creating --output-dir.
func parseInvocation(c *cli.Context) (*invocation, error) {
	if c.NArg() > 0 {
		return nil, stepcli.Usagef("unexpected arguments %q", c.Args().Slice())
	}
	f, err := sbom.ParseFormat(c.String("format"))
	if err != nil {
		return nil, stepcli.Usagef("--format: %v", err)
	}
	ref, err := imageReference(c)
	if err != nil {
		return nil, err
	}
	output, err := outputPath(c)
	if err != nil {
		return nil, err
	}
	if d := c.String("oci-layout"); d != "" {
		if fi, err := os.Stat(filepath.Join(d, "index.json")); err != nil || fi.IsDir() {
			return nil, stepcli.Usagef("--oci-layout %s: no index.json (not an OCI image layout)", d)
		}
	}
	if c.Int64("max-file-size") <= 0 || c.Int64("max-layer-size") <= 0 {
		return nil, stepcli.Usagef("--max-file-size and --max-layer-size must be positive")
	}
	opts := []sbom.Option{
		sbom.WithProgress(c.App.ErrWriter),
		sbom.WithCacheDir(c.String("cache-dir")),
		sbom.WithTempDir(c.String("temp-dir")),
		sbom.WithSpillDir(c.String("spill-dir")),
		sbom.WithSource(c.String("source-url"), c.String("source-commit")),
		sbom.WithSupplier(c.String("supplier")),
		sbom.WithAuthor(c.String("author")),
		sbom.WithRemoteOptions(remoteopt.Options(c.Context)...),
		sbom.WithLayerLimits(layerfs.WithMaxFileSize(c.Int64("max-file-size")), layerfs.WithMaxTotalSize(c.Int64("max-layer-size"))),
	}
	prefetched, err := prefetchOptions(c, f)
	if err != nil {
		return nil, err
	}
	return &invocation{
		req: sbom.Request{
			Reference: ref, Layout: c.String("oci-layout"), Format: f, Attach: c.Bool("attach"),
		},
		opts:   append(opts, prefetched...),
		output: output,
	}, nil
}

// imageReference is --image, pinned to --digest when that is given.
func imageReference(c *cli.Context) (name.Reference, error) {
	insecure := remoteopt.Insecure(!c.Bool("tls-verify"))
	ref, err := remoteopt.ParseReference(c.String("image"), insecure)
	if err != nil {
		return nil, stepcli.Usagef("--image: %v", err)
	}
	if d := c.String("digest"); d != "" {
		if pinned, ok := ref.(name.Digest); ok && pinned.DigestStr() != d {
			return nil, stepcli.Usagef("--digest %s disagrees with --image %s", d, ref)
		}
		if ref, err = remoteopt.ParseDigest(ref.Context().Name()+"@"+d, insecure); err != nil {
			return nil, stepcli.Usagef("--digest: %v", err)
		}
	}
	return ref, nil
}

// outputPath is --output, or --output-name inside --output-dir, whose
// parent directories it creates.
func outputPath(c *cli.Context) (string, error) {
	output := c.String("output")
	dir := c.String("output-dir")
	if dir == "" {
		return output, nil
	}
	if output != "" {
		return "", stepcli.Usagef("--output and --output-dir exclude each other")
	}
	name := filepath.Clean(c.String("output-name"))
	if name == "." || filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
		return "", stepcli.Usagef("--output-name %q must be a relative path inside --output-dir", c.String("output-name"))
	}
	output = filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(output), 0o755); err != nil {
		return "", fmt.Errorf("--output-dir: %w", err)
	}
	return output, nil
}

// prefetchOptions merges the components of --prefetch-sbom into the SBOM
// of format f. A file that does not exist is no error: the prefetch step
// writes none when the build prefetched nothing.
func prefetchOptions(c *cli.Context, f sbom.Format) ([]sbom.Option, error) {
	p := c.String("prefetch-sbom")
	if p == "" {
		return nil, nil
	}
	if _, err := os.Stat(p); os.IsNotExist(err) {
		fmt.Fprintf(c.App.ErrWriter, "sbom: no prefetch SBOM at %s: nothing was prefetched\n", p)
		return nil, nil
	}
	if f != sbom.CycloneDX {
		return nil, stepcli.Usagef("--prefetch-sbom needs --format cyclonedx")
	}
	comps, err := sbom.ReadPrefetchSBOM(p)
	if err != nil {
		return nil, stepcli.Usagef("--prefetch-sbom: %v", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "sbom: merging %d prefetched dependencies from %s\n", len(comps), p)
	return []sbom.Option{sbom.WithPrefetched(comps)}, nil
}

// printSummary says on w what each SBOM holds and where it was attached,
// the image's first, then each platform's.
func printSummary(w io.Writer, res *sbom.Result) {
	for _, r := range append([]*sbom.Result{res}, res.Children...) {
		n := 0
		if r.Catalog != nil {
			n = r.Catalog.SBOM.Artifacts.Packages.PackageCount()
		}
		line := fmt.Sprintf("sbom: %s: %d packages", r.Subject.Ref(), n)
		if r.Catalog == nil {
			line = fmt.Sprintf("sbom: %s: index of %d images", r.Subject.Ref(), len(r.Children))
		}
		if r.Attachment != nil {
			line += fmt.Sprintf(", attached as %s and %s", r.Attachment.Referrer.DigestStr(), r.Attachment.Tag.TagStr())
		}
		fmt.Fprintln(w, line)
	}
}

// writeResults writes SBOM_BLOB_URL and SBOM_ARTIFACT_OUTPUTS when the
// SBOM was attached; there is nothing to point at otherwise.
func writeResults(c *cli.Context, res *sbom.Result) error {
	if res.Attachment == nil {
		return nil
	}
	dir := stepcli.Results(c)
	if err := dir.Write("SBOM_BLOB_URL", res.Attachment.BlobURL()); err != nil {
		return err
	}
	return dir.WriteJSON("SBOM_ARTIFACT_OUTPUTS", map[string]string{
		"uri":    res.Subject.Repository.Name(),
		"digest": res.Attachment.Blob.String(),
	})
}

// writeOutputs writes the SBOM, and for an index each platform's beside it,
// each file through a temporary name so no half-written SBOM is left.
func writeOutputs(c *cli.Context, out string, res *sbom.Result) error {
	if out == "-" {
		_, err := c.App.Writer.Write(res.Document)
		return err
	}
	if err := writeFile(out, res.Document); err != nil {
		return err
	}
	ext := filepath.Ext(out)
	stem := strings.TrimSuffix(out, ext)
	if ext == "" {
		ext = ".json"
	}
	for _, ch := range res.Children {
		p := "unknown"
		if ch.Subject.Platform != nil {
			p = strings.ReplaceAll(ch.Subject.Platform.String(), "/", "-")
		}
		if err := writeFile(stem+"."+p+ext, ch.Document); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, b []byte) error {
	if err := outfile.Write(path, b); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}
