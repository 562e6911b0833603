package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/attest"
	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

// newApp builds the CLI; getenv is os.Getenv in main (tests pass their
// own), the only way the environment reaches the code.
func newApp(getenv func(string) string) *cli.App {
	common := []cli.Flag{
		&cli.StringFlag{Name: "image", Required: true, Usage: "the image, as `REPO@sha256:HEX` (a tag is refused: a signature names one digest)"},
		&cli.StringFlag{Name: "key", Usage: "private key `PATH`: cosign.key (password from COSIGN_PASSWORD), a plain PEM ECDSA/Ed25519 key, or a directory in Chains' signing-secrets layout"},
		&cli.StringFlag{Name: "fallback-key", Usage: "key `PATH` used when --key is empty (a task passes an optional workspace's path as --key and a mounted secret here)"},
		stepcli.TLSVerifyFlag(),
		&cli.StringFlag{Name: "output", Usage: "write what was written as JSON: `json` for stdout, or a FILE"},
		stepcli.ResultsDirFlag(),
	}
	return &cli.App{
		Name:  "attest",
		Usage: "sign an image and attach in-toto attestations, as cosign stores them",
		Description: `Signatures go to REPO:sha256-<hex>.sig (cosign simple signing), attestations to
REPO:sha256-<hex>.att (DSSE envelopes around in-toto v1 statements). Both verify with
cosign verify / cosign verify-attestation --key cosign.pub. The key is decrypted once
per call, so one call that signs and attaches several attestations costs about one
cosign invocation.

Results: SIGNATURE_REF, ATTESTATION_REF, PREDICATE_TYPES (comma-separated).`,
		Commands: []*cli.Command{
			{
				Name:      "sign",
				Usage:     "add a cosign simple-signing signature to an image",
				UsageText: "attest sign --image registry.example/app@sha256:<hex> --key /secrets/signing (COSIGN_PASSWORD from the environment or cosign.password in the directory)",
				Flags:     common,
				Action: func(c *cli.Context) error {
					d, err := image(c)
					if err != nil {
						return err
					}
					return run(c, getenv, d, true, nil)
				},
			},
			{
				Name:  "attest",
				Usage: "attach one or more in-toto attestations (and optionally a signature) to an image",
				UsageText: `attest attest --image registry.example/app@sha256:<hex> --key cosign.key \
    --predicate sbom.cdx.json --type cyclonedx \
    --predicate provenance.json --type slsaprovenance1 \
    --test-output "$(cat TEST_OUTPUT)" --test-name scan --sign
attest attest --image registry.example/app@sha256:<hex> --key /secrets/signing \
    --predicate-dir /workspace/source cyclonedx=sbom.cdx.json vuln=scan/vuln.json
attest attest --image registry.example/app@sha256:<hex> --key cosign.key \
    --provenance taskrun.yaml --provenance-format slsa/v1.0   # Chains' SLSA statement for a finished run`,
				ArgsUsage: "[TYPE=FILE...]",
				Description: `--predicate and --type pair up in order; TYPE=FILE arguments add more (FILE
relative to --predicate-dir). A TYPE is a cosign short name
(slsaprovenance1, slsaprovenance02, cyclonedx, spdxjson, vuln, openvex, test-result, vsa)
or a predicate type URI. A predicate that is not JSON, or does not look like its type,
is refused and nothing is pushed.`,
				Flags: append(common,
					&cli.StringSliceFlag{Name: "predicate", Usage: "predicate `FILE` (JSON); repeat for more attestations"},
					&cli.StringSliceFlag{Name: "type", Usage: "predicate `TYPE` of the --predicate at the same position"},
					&cli.StringFlag{Name: "test-output", Usage: "a Konflux TEST_OUTPUT `JSON` value (or @FILE) to attest as an in-toto test-result"},
					&cli.StringFlag{Name: "test-name", Value: "test", Usage: "`NAME` of the test the TEST_OUTPUT comes from (the task name)"},
					&cli.StringFlag{Name: "test-url", Usage: "`URL` of the test's log or report"},
					&cli.StringFlag{Name: "provenance", Usage: "attest SLSA provenance made by Chains' formatter from this finished TaskRun or PipelineRun `FILE` (YAML or JSON, with status); the image must be one of its subjects"},
					&cli.StringSliceFlag{Name: "provenance-taskrun", Usage: "child TaskRun `FILE` of the --provenance PipelineRun (repeatable)"},
					&cli.StringFlag{Name: "provenance-format", Value: "slsa/v1.0", Usage: "`FORMAT` of --provenance: slsa/v1.0 (Chains slsa/v2alpha4) or slsa/v0.2 (Chains slsa/v1)"},
					&cli.StringFlag{Name: "builder-id", Usage: "builder `ID` recorded in --provenance (default: Chains' https://tekton.dev/chains/v2)"},
					&cli.BoolFlag{Name: "sign", Usage: "also add a simple-signing signature"},
					&cli.StringFlag{Name: "predicate-dir", Usage: "`DIR` that relative predicate paths are read from (default: the working directory)"},
					&cli.BoolFlag{Name: "referrers", Usage: "also store each attestation as an OCI 1.1 referrer (sigstore bundle v0.3)"},
				),
				Action: func(c *cli.Context) error {
					d, err := image(c)
					if err != nil {
						return err
					}
					preds, err := predicates(c, d)
					if err != nil {
						return err
					}
					return run(c, getenv, d, c.Bool("sign"), preds)
				},
			},
		},
	}
}

func image(c *cli.Context) (name.Digest, error) {
	d, err := remoteopt.ParseDigest(c.String("image"), remoteopt.Insecure(!c.Bool("tls-verify")))
	if err != nil {
		return d, stepcli.Usagef("--image: %w", err)
	}
	return d, nil
}

func predicates(c *cli.Context, d name.Digest) ([]attest.Predicate, error) {
	files, types := c.StringSlice("predicate"), c.StringSlice("type")
	if len(files) != len(types) {
		return nil, stepcli.Usagef("--predicate given %d times but --type %d times: each predicate needs its type", len(files), len(types))
	}
	for _, a := range c.Args().Slice() {
		typ, file, ok := strings.Cut(a, "=")
		if !ok || typ == "" || file == "" {
			return nil, stepcli.Usagef("argument %q: want TYPE=FILE", a)
		}
		types, files = append(types, typ), append(files, file)
	}
	var out []attest.Predicate
	for i, f := range files {
		if dir := c.String("predicate-dir"); dir != "" && !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		p, err := attest.LoadPredicate(f, types[i])
		if err != nil {
			return nil, stepcli.Usagef("%w", err)
		}
		out = append(out, p)
	}
	if to := c.String("test-output"); to != "" {
		raw := []byte(to)
		if strings.HasPrefix(to, "@") {
			b, err := os.ReadFile(to[1:])
			if err != nil {
				return nil, stepcli.Usagef("--test-output: %w", err)
			}
			raw = b
		}
		p, err := attest.TestResultPredicate(raw, c.String("test-name"), c.String("test-url"))
		if err != nil {
			return nil, stepcli.Usagef("--test-output: %w", err)
		}
		out = append(out, p)
	}
	if run := c.String("provenance"); run != "" {
		f, err := provenance.ParseFormat(c.String("provenance-format"))
		if err != nil {
			return nil, stepcli.Usagef("--provenance-format: %w", err)
		}
		var popts []provenance.Option
		if id := c.String("builder-id"); id != "" {
			popts = append(popts, provenance.WithBuilderID(id))
		}
		p, err := attest.ProvenancePredicate(c.Context, run, c.StringSlice("provenance-taskrun"), f, d, popts...)
		if err != nil {
			return nil, stepcli.Usagef("--provenance: %w", err)
		}
		out = append(out, p)
	} else if len(c.StringSlice("provenance-taskrun")) > 0 {
		return nil, stepcli.Usagef("--provenance-taskrun needs --provenance")
	}
	if len(out) == 0 && !c.Bool("sign") {
		return nil, stepcli.Usagef("nothing to attest: give --predicate/--type, --provenance, --test-output or --sign")
	}
	return out, nil
}

func run(c *cli.Context, getenv func(string) string, d name.Digest, sign bool, preds []attest.Predicate) error {
	key := c.String("key")
	if key == "" {
		key = c.String("fallback-key")
	}
	if key == "" {
		return stepcli.Usagef("--key: no signing key given")
	}
	// An unset COSIGN_PASSWORD is the empty password, as for cosign.
	signer, err := signing.Load(key, signing.WithPassword([]byte(getenv("COSIGN_PASSWORD"))))
	if err != nil {
		return stepcli.Usagef("--key: %w", err)
	}
	res, err := attest.Run(c.Context, signer, attest.Request{Image: d, Sign: sign, Predicates: preds},
		attest.WithProgress(c.App.ErrWriter), attest.WithReferrers(c.Bool("referrers")))
	if err != nil {
		return err
	}
	if err := stepcli.WriteResults(c, [][2]string{
		{"SIGNATURE_REF", res.SignatureTag},
		{"ATTESTATION_REF", res.AttestationTag},
		{"PREDICATE_TYPES", strings.Join(res.PredicateTypes, ",")},
	}); err != nil {
		return err
	}
	return output(c, res)
}

func output(c *cli.Context, res *attest.Result) error {
	out := c.String("output")
	if out == "" {
		return nil
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out == "json" {
		_, err = c.App.Writer.Write(b)
		return err
	}
	if err := outfile.Write(out, b, outfile.WithStdout(c.App.Writer)); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}
