package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/sbom"
	"github.com/trustline-dev/trustline/internal/scan"
	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/scan/osvdb"
	"github.com/trustline-dev/trustline/internal/scan/report"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

// newApp returns the scan command.
func newApp() *cli.App {
	return &cli.App{
		Name:  "scan",
		Usage: "find known vulnerabilities in an SBOM, or misconfigurations in Containerfiles and Kubernetes/Tekton YAML",
		UsageText: `scan --sbom sbom.cdx.json --db /data/osv [--db-cache /cache] [--vex vex.json] [--fail-on high] [--format sarif --output report.sarif]
   scan --image quay.io/org/app@sha256:... --db /data/osv
   scan --type config --source ./src --format sarif --output config.sarif`,
		Description: `Vulnerabilities (--type vulnerabilities, the default): reads a CycloneDX or
SPDX JSON SBOM (--sbom FILE, or the SBOM attached to --image REF as an OCI
referrer or under cosign's sha256-<hex>.sbom tag; with --catalog an image
without one is cataloged here with syft) and matches every package
against an OSV database directory (--db DIR: <Ecosystem>/all.zip or unpacked
JSON, as osv.dev publishes it). Only the ecosystems the SBOM names are
read, and in them only the records that name one of its packages are
parsed. Which records name which packages is kept in a cache keyed by the
database's digest: --db-cache DIR, or by default DB/.trustline-cache when
the database directory can be written, else the user's cache directory
(--db-cache none: no cache). VEX documents (--vex,
OpenVEX or CycloneDX, repeatable) suppress findings stated not_affected or
fixed, keeping the justification in the report.

Configuration (--type config): checks every Containerfile/Dockerfile and
Kubernetes/Tekton YAML under --source DIR (rules TL-CF-*, TL-K8S-*).

Results: TEST_OUTPUT (Konflux's shape; ERROR when the scan could not run,
e.g. a missing or corrupt database), SCAN_OUTPUT (counts by severity,
patched and unpatched, Konflux's shape) and REPORTS ({"<image digest>":
"<report digest>"}: with --attach-report the vulnerabilities are attached
to the image as a Clair report, the OCI referrer Konflux's clair-scan
writes and Conforma's cve rules read; {} otherwise).
Exit codes: 0 passed, 1 findings at or above --fail-on, 2 the scan could
not run; with --report-only the outcome is only reported and the exit
code is 0.

Example:
   scan --sbom sbom.json --db ./osv --db-cache ~/.cache/trustline/osv \
        --vex .vex/openvex.json --fail-on critical --format cyclonedx --output vex.cdx.json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Value: "vulnerabilities", Usage: "what to scan: vulnerabilities or config"},
			&cli.StringFlag{Name: "sbom", Usage: "read the SBOM (CycloneDX or SPDX JSON) from `FILE`"},
			&cli.StringFlag{Name: "image", Usage: "scan the SBOM attached to image `REF`"},
			&cli.BoolFlag{Name: "catalog", Usage: "when --image has no SBOM attached, catalog the image here with syft (as the sbom step does) instead of failing"},
			&cli.StringFlag{Name: "image-digest", Usage: "pin --image to `DIGEST` (sha256:..., the build task's IMAGE_DIGEST)"},
			&cli.StringFlag{Name: "source", Usage: "check configuration files under `DIR` (--type config)"},
			&cli.StringFlag{Name: "db", Usage: "OSV database `DIR` (<Ecosystem>/all.zip or unpacked JSON)"},
			&cli.StringFlag{Name: "db-cache", Usage: "keep the database's name index in `DIR`; none for no cache (default: DB/.trustline-cache if writable, else the user's cache directory)"},
			&cli.StringFlag{Name: "goos", Value: "linux", Usage: "target `OS` assumed for Go binaries whose SBOM entry does not record GOOS; empty reports OS-specific Go advisories for every OS"},
			&cli.StringSliceFlag{Name: "vex", Usage: "apply the OpenVEX or CycloneDX VEX document `FILE` (repeatable)"},
			&cli.StringFlag{Name: "fail-on", Usage: "fail when a finding is of `SEVERITY` or above: critical, high, medium or low (default: never)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "report format: table, json, sarif, cyclonedx or cosign-vuln (the CycloneDX report as a cosign vuln predicate, for the attest step's vuln=FILE)"},
			&cli.StringFlag{Name: "output", Usage: "write the report to `FILE` instead of stdout"},
			&cli.BoolFlag{Name: "attach-report", Usage: "with --image, attach a Clair-format report of the vulnerabilities to the image as an OCI referrer (application/vnd.redhat.clair-report+json, as Konflux's clair-scan does) and name it in the REPORTS result, which Conforma's cve rules read"},
			&cli.BoolFlag{Name: "report-only", Usage: "report the outcome in TEST_OUTPUT but exit 0 (Konflux style: a policy decides later)"},
			stepcli.TLSVerifyFlag(),
			stepcli.ResultsDirFlag(),
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	res := stepcli.Results(c)
	now := time.Now
	err := scanAndReport(c, now)
	if err == nil {
		return nil
	}
	if exitcode.Code(err) != exitcode.Failed {
		// The scan could not answer: say so in TEST_OUTPUT, never SUCCESS.
		if werr := res.WriteJSON("TEST_OUTPUT", scan.ErrorOutput(err, now())); werr != nil {
			return errors.Join(err, werr)
		}
	}
	if c.Bool("report-only") {
		fmt.Fprintf(c.App.ErrWriter, "scan: %v (--report-only: exit 0)\n", err)
		return nil
	}
	return err
}

func scanAndReport(c *cli.Context, now func() time.Time) error {
	format := c.String("format")
	if !slices.Contains(report.Formats, format) {
		return stepcli.Usagef("--format %q: want one of %s", format, strings.Join(report.Formats, ", "))
	}
	var failOn cvss.Rating
	if s := c.String("fail-on"); s != "" {
		r, ok := cvss.ParseRating(s)
		if !ok || r.Rank() < cvss.Low.Rank() {
			return stepcli.Usagef("--fail-on %q: want critical, high, medium or low", s)
		}
		failOn = r
	}
	opts := []scan.Option{scan.WithProgress(c.App.ErrWriter), scan.WithClock(now)}

	var rep *finding.Report
	var scanned name.Digest // the image whose SBOM was scanned, if any
	var err error
	switch c.String("type") {
	case "vulnerabilities":
		rep, scanned, err = vulnerabilities(c, opts)
	case "config":
		if c.String("source") == "" {
			return stepcli.Usagef("--type config needs --source DIR")
		}
		if c.Bool("attach-report") {
			return stepcli.Usagef("--attach-report is for --type vulnerabilities with --image")
		}
		rep, err = scan.Config(c.String("source"), opts...)
	default:
		return stepcli.Usagef("--type %q: want vulnerabilities or config", c.String("type"))
	}
	if err != nil {
		return err
	}

	if err := writeReport(c, format, rep); err != nil {
		return err
	}
	verdict := scan.Judge(rep, failOn)
	res := stepcli.Results(c)
	reports := map[string]string{}
	if c.Bool("attach-report") {
		if scanned.DigestStr() == "" {
			return stepcli.Usagef("--attach-report needs --image (a report is attached to an image)")
		}
		ref, err := attachClair(c, scanned, rep)
		if err != nil {
			return err
		}
		reports[scanned.DigestStr()] = ref.DigestStr()
	}
	if err := res.WriteJSON("REPORTS", reports); err != nil {
		return err
	}
	if err := res.WriteJSON("SCAN_OUTPUT", scan.Summarize(rep)); err != nil {
		return err
	}
	if err := res.WriteJSON("TEST_OUTPUT", verdict); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "scan: %s: %s\n", verdict.Result, verdict.Note)
	if verdict.Result == results.Failure {
		return exitcode.CheckFailedf("%d findings at or above %s", verdict.Failures, failOn)
	}
	return nil
}

// attachClair attaches the Clair form of rep to img as an OCI referrer and
// returns the referrer's digest.
func attachClair(c *cli.Context, img name.Digest, rep *finding.Report) (name.Digest, error) {
	var buf bytes.Buffer
	if err := report.Clair(&buf, rep); err != nil {
		return name.Digest{}, err
	}
	ctx := c.Context
	ref, err := cosignoci.New(cosignoci.WithRemoteOptions(remoteopt.Options(ctx)...)).
		AttachArtifact(ctx, img, report.ClairMediaType, "clair-report.json", buf.Bytes())
	if err != nil {
		return name.Digest{}, fmt.Errorf("attaching the Clair report to %s: %w", img, err)
	}
	fmt.Fprintf(c.App.ErrWriter, "scan: attached the Clair report to %s as %s\n", img, ref)
	return ref, nil
}

// vulnerabilities scans the SBOM file or the image's SBOM, and returns the
// report and the image scanned (zero for a file).
func vulnerabilities(c *cli.Context, opts []scan.Option) (*finding.Report, name.Digest, error) {
	var none name.Digest
	sbomFile, image := c.String("sbom"), c.String("image")
	if (sbomFile == "") == (image == "") {
		return nil, none, stepcli.Usagef("give exactly one of --sbom FILE or --image REF")
	}
	if c.String("db") == "" {
		return nil, none, stepcli.Usagef("--db DIR is required: an OSV database (<Ecosystem>/all.zip)")
	}
	opts = append(opts, scan.WithGOOS(c.String("goos")))
	switch d := c.String("db-cache"); d {
	case "none":
	case "":
		opts = append(opts, scan.WithDBCache(osvdb.DefaultCacheDirs(c.String("db"))...))
	default:
		opts = append(opts, scan.WithDBCache(d))
	}
	for _, v := range stepcli.ListValues(c, "vex") {
		opts = append(opts, scan.WithVEX(v))
	}
	var data []byte
	var scanned name.Digest
	subject := sbomFile
	if sbomFile != "" {
		b, err := os.ReadFile(sbomFile)
		if err != nil {
			return nil, none, fmt.Errorf("--sbom: %w", err)
		}
		data = b
	} else {
		insecure := remoteopt.Insecure(!c.Bool("tls-verify"))
		ref, err := remoteopt.ParseReference(image, insecure)
		if err != nil {
			return nil, none, stepcli.Usagef("--image: %v", err)
		}
		if dg := c.String("image-digest"); dg != "" {
			d, err := remoteopt.ParseDigest(ref.Context().Name()+"@"+dg, insecure)
			if err != nil {
				return nil, none, stepcli.Usagef("--image-digest: %v", err)
			}
			ref = d
		}
		ctx := c.Context
		s, err := cosignoci.New(cosignoci.WithRemoteOptions(remoteopt.Options(ctx)...)).SBOM(ctx, ref)
		switch {
		case errors.Is(err, cosignoci.ErrNoSBOM) && c.Bool("catalog"):
			fmt.Fprintf(c.App.ErrWriter, "scan: %v; cataloging the image (--catalog)\n", err)
			if data, subject, err = catalog(ctx, c, ref); err != nil {
				return nil, none, err
			}
			if scanned, err = remoteopt.ParseDigest(subject, insecure); err != nil {
				return nil, none, fmt.Errorf("cataloged image %q: %w", subject, err)
			}
		case err != nil:
			return nil, none, err
		default:
			fmt.Fprintf(c.App.ErrWriter, "scan: SBOM of %s from %s\n", s.Image, s.Where)
			data, subject, scanned = s.Data, s.Image.String(), s.Image
		}
	}
	rep, err := scan.Vulnerabilities(data, subject, c.String("db"), opts...)
	return rep, scanned, err
}

// catalog makes the SBOM of an image with the sbom step's library (syft),
// without attaching it. For a multi-platform index it scans the
// linux/amd64 image (the platform trustline builds), else the first.
func catalog(ctx context.Context, c *cli.Context, ref name.Reference) ([]byte, string, error) {
	res, err := sbom.Generate(ctx, sbom.Request{Reference: ref, Format: sbom.CycloneDX},
		sbom.WithRemoteOptions(remoteopt.Options(ctx)...), sbom.WithProgress(c.App.ErrWriter))
	if err != nil {
		return nil, "", fmt.Errorf("cataloging %s: %w", ref, err)
	}
	if len(res.Children) > 0 {
		pick := res.Children[0]
		for _, ch := range res.Children {
			if p := ch.Subject.Platform; p != nil && p.OS == "linux" && p.Architecture == "amd64" {
				pick = ch
				break
			}
		}
		res = pick
	}
	return res.Document, res.Subject.Ref(), nil
}

// writeReport writes the report to --output through outfile: a regular
// file is replaced whole or not at all (a failed scan never leaves half a
// report), /dev/null or a FIFO is written in place, "-" is stdout.
func writeReport(c *cli.Context, format string, rep *finding.Report) error {
	out := c.String("output")
	if out == "" {
		return report.Write(c.App.Writer, format, rep)
	}
	write := func(w io.Writer) error { return report.Write(w, format, rep) }
	if err := outfile.WriteFunc(out, write, outfile.WithStdout(c.App.Writer)); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if out == outfile.Stdout {
		return nil
	}
	fmt.Fprintf(c.App.ErrWriter, "scan: wrote %s report to %s\n", format, out)
	return nil
}
