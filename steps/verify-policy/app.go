package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/exitcode"
	"github.com/trustline-dev/trustline/internal/jsondoc"
	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
	"github.com/trustline-dev/trustline/internal/verify/evaluator"
	"github.com/trustline-dev/trustline/internal/verify/report"
	"github.com/trustline-dev/trustline/internal/verify/snapshot"
)

// newApp returns the verify-policy command; getenv is os.Getenv in main
// (tests pass their own), the only way the environment reaches the code.
func newApp(getenv func(string) string) *cli.App {
	return &cli.App{
		Name:      "verify-policy",
		Usage:     "verify images' signatures and attestations and enforce a Conforma-compatible Rego policy",
		UsageText: "verify-policy --public-key cosign.pub (--image REF ... | --images snapshot.json) [--policy policy.yaml] [--output FORMAT[=FILE] ...]",
		Description: `For each image: resolve its digest, verify its cosign signature and the
attestations beside it (signed by --public-key, subject = the image's digest),
check SLSA provenance against the SLSA schema, and evaluate the policy's Rego
rules on Conforma's input document (input.image, input.attestations,
input.snapshot, input.component_name, input.policy_spec) with Conforma's
ec.oci.*, ec.purl.* and ec.sigstore.* built-ins (ec.sigstore.* verifies with a
public key only; data.config.default_sigstore_opts holds --public-key).

The policy file has the shape of Conforma's EnterpriseContractPolicy spec
(sources with policy, data, ruleData and config.include/exclude; a location is
written as Conforma writes it: a local path, oci::REF, git::https://HOST/REPO.git//DIR?ref=REV
or an https file or archive). Without --policy the built-in trustline pack is used.

Exit codes: 0 every image passed; 1 a policy violation; 2 an error prevented a
verdict (bad input, unreachable registry).

Example:
   verify-policy --public-key cosign.pub --images snapshot.json \
     --policy policy.yaml --output text --output json=report.json \
     --output appstudio=/tekton/results/TEST_OUTPUT --workers 8`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "image", Usage: "verify image `REF` (repeatable)"},
			&cli.StringFlag{Name: "images", Usage: "Konflux ApplicationSnapshot spec `FILE` (or inline JSON) listing components"},
			&cli.StringFlag{Name: "policy", Usage: "EnterpriseContractPolicy spec `FILE` (YAML or JSON); default: the built-in pack"},
			&cli.StringFlag{Name: "rule-data", Usage: "merge this YAML/JSON object `FILE` into every source's ruleData (e.g. trusted_tasks from `trustline catalog trusted-tasks`)"},
			&cli.StringFlag{Name: "public-key", Usage: "cosign public key `FILE` (PEM) that signed the images and attestations (required)"},
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "`FORMAT[=FILE]`: text, json, junit, markdown or appstudio (repeatable; default text on stderr)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "also exclude `RULE` (package, package.rule or @collection, with an optional :term) in every policy source, on top of the policy's config (repeatable or comma-separated; e.g. @pipeline_provenance for a gate inside the build pipeline)"},
			&cli.IntFlag{Name: "workers", Value: 4, Usage: "check `N` images concurrently"},
			&cli.DurationFlag{Name: "timeout", Value: verify.DefaultTimeout, Usage: "give up on an image (exit 2) after `DURATION`: fetching it, its signatures and attestations, and evaluating the policy; 0 for no limit"},
			&cli.Int64Flag{Name: "max-input", Value: verify.DefaultMaxInput >> 20, Usage: "fail on an image (exit 2) whose verified attestations add up to more than `MIB` mebibytes of policy input; 0 for no limit"},
			&cli.Uint64Flag{Name: "max-memory", Value: evaluator.DefaultMaxMemory >> 20, Usage: "stop a policy evaluation (exit 2) once the heap exceeds `MIB` mebibytes; 0 for no limit"},
			&cli.StringFlag{Name: "effective-time", Value: "now", Usage: "`WHEN` rules are evaluated: now, attestation (build time) or a date (RFC 3339 or YYYY-MM-DD)"},
			&cli.BoolFlag{Name: "show-successes", Usage: "list passed rules in the outputs"},
			&cli.BoolFlag{Name: "strict", Value: true, Usage: "exit 1 on violations (with --strict=false exit 0 and report FAILURE in TEST_OUTPUT)"},
			&cli.StringFlag{Name: "vsa-signing-key", Usage: "sign a SLSA verification summary for each passing image with this cosign private key `FILE` (password from COSIGN_PASSWORD)"},
			&cli.StringFlag{Name: "vsa-dir", Usage: "write verification summaries (DSSE envelopes) into `DIR`"},
			&cli.BoolFlag{Name: "push-vsa", Usage: "push each verification summary beside its image (.att), as cosign attest does"},
			&cli.StringFlag{Name: "cache-dir", Usage: "cache policy sources in `DIR`, OCI and https by digest, git by commit (default: a temporary directory)"},
			stepcli.TLSVerifyFlag(),
			stepcli.ResultsDirFlag(),
		},
		Action:   func(c *cli.Context) error { return run(c, getenv) },
		Commands: []*cli.Command{serveCommand()},
	}
}

func run(c *cli.Context, getenv func(string) string) error {
	req, err := parseRequest(c, getenv)
	if err != nil {
		return err
	}
	v, err := verify.New(c.Context, req.policy, req.key, req.opts...)
	if err != nil {
		return &exitcode.Err{Code: exitcode.Error, Err: err}
	}
	defer v.Close()
	rep, err := verifyImages(c, v, req.images)
	if err != nil {
		return err
	}
	return writeReport(c, rep, req.outputs, len(req.images))
}

// request is what the flags ask run to verify, with what and how to report.
type request struct {
	outputs []report.Output
	images  []verify.Image
	key     *signing.Verifier
	policy  *ecp.Policy // nil: the built-in pack
	opts    []verify.Option
}

// parseRequest reads the flags, loading the files they name; every
// error is a usage error.
func parseRequest(c *cli.Context, getenv func(string) string) (*request, error) {
	outputs, err := parseOutputs(c.StringSlice("output"))
	if err != nil {
		return nil, err
	}
	images, snap, err := parseImages(c)
	if err != nil {
		return nil, err
	}
	if c.String("public-key") == "" {
		// Not a Required flag: urfave/cli checks those before it picks a
		// subcommand, and `serve` has its own.
		return nil, stepcli.Usagef(`Required flag "public-key" not set`)
	}
	key, err := signing.LoadPublicKey(c.String("public-key"))
	if err != nil {
		return nil, stepcli.Usagef("--public-key: %v", err)
	}
	opts, err := verifyOptions(c, snap)
	if err != nil {
		return nil, err
	}
	pol, polOpts, err := loadPolicy(c.String("policy"))
	if err != nil {
		return nil, err
	}
	opts = append(opts, polOpts...)
	rdOpts, err := ruleDataOptions(c.String("rule-data"))
	if err != nil {
		return nil, err
	}
	opts = append(opts, rdOpts...)
	vsaOpts, err := vsaOptions(c, getenv)
	if err != nil {
		return nil, err
	}
	opts = append(opts, vsaOpts...)
	return &request{outputs: outputs, images: images, key: key, policy: pol, opts: opts}, nil
}

// parseOutputs parses the --output values; with none, the text report
// goes to stderr.
func parseOutputs(specs []string) ([]report.Output, error) {
	var outputs []report.Output
	for _, s := range specs {
		o, err := report.ParseOutput(s)
		if err != nil {
			return nil, stepcli.Usagef("%v", err)
		}
		outputs = append(outputs, o)
	}
	if len(outputs) == 0 {
		outputs = []report.Output{{Format: report.Text}}
	}
	return outputs, nil
}

// parseImages lists the images of --image and --images, and returns the
// snapshot --images named, if any, for the policy input.
func parseImages(c *cli.Context) ([]verify.Image, *snapshot.Snapshot, error) {
	var images []verify.Image
	var snap *snapshot.Snapshot
	for _, r := range c.StringSlice("image") {
		images = append(images, verify.Image{Ref: r})
	}
	if f := c.String("images"); f != "" {
		s, err := snapshot.Load(f)
		if err != nil {
			return nil, nil, stepcli.Usagef("--images: %v", err)
		}
		images = append(images, verify.ImagesFromSnapshot(s)...)
		snap = s
	}
	if len(images) == 0 {
		return nil, nil, stepcli.Usagef("no images: give --image REF or --images FILE (or run `verify-policy serve` for the deploy gate)")
	}
	return images, snap, nil
}

// verifyOptions turns the flags that tune the verification into options.
func verifyOptions(c *cli.Context, snap *snapshot.Snapshot) ([]verify.Option, error) {
	opts := []verify.Option{
		verify.WithWorkers(c.Int("workers")),
		verify.WithProgress(c.App.ErrWriter),
		verify.WithEffectiveTime(c.String("effective-time")),
		verify.WithInsecure(!c.Bool("tls-verify")),
		verify.WithSuccesses(c.Bool("show-successes")),
		verify.WithTimeout(c.Duration("timeout")),
		verify.WithMaxMemory(c.Uint64("max-memory") << 20),
		verify.WithMaxInput(c.Int64("max-input") << 20),
		verify.WithSnapshot(snap),
	}
	if c.Duration("timeout") < 0 || c.Int64("max-input") < 0 {
		return nil, stepcli.Usagef("--timeout and --max-input must not be negative")
	}
	if d := c.String("cache-dir"); d != "" {
		opts = append(opts, verify.WithCacheDir(d))
	}
	if exclude := stepcli.ListValues(c, "exclude"); len(exclude) > 0 {
		opts = append(opts, verify.WithExclude(exclude...))
	}
	return opts, nil
}

// loadPolicy reads --policy f: inline JSON, as Conforma's --policy
// accepts, or a file, whose directory relative sources are resolved
// against. With f empty the policy is nil, the built-in pack.
func loadPolicy(f string) (*ecp.Policy, []verify.Option, error) {
	if strings.HasPrefix(strings.TrimSpace(f), "{") {
		pol, err := ecp.Parse([]byte(f))
		if err != nil {
			return nil, nil, stepcli.Usagef("--policy: %v", err)
		}
		return pol, nil, nil
	}
	if f == "" {
		return nil, nil, nil
	}
	pol, opts, err := policyFile(f)
	if err != nil {
		return nil, nil, stepcli.Usagef("%v", err)
	}
	return pol, opts, nil
}

// policyFile loads the --policy file f, with the options that resolve the
// policy's relative paths against its folder and name it in reports.
func policyFile(f string) (*ecp.Policy, []verify.Option, error) {
	pol, err := ecp.Load(f)
	if err != nil {
		return nil, nil, fmt.Errorf("--policy: %w", err)
	}
	abs, _ := filepath.Abs(f)
	return pol, []verify.Option{verify.WithBaseDir(filepath.Dir(abs)), verify.WithPolicyURI(abs)}, nil
}

// ruleDataOptions merges the --rule-data file f, when given, into every
// source's rule data.
func ruleDataOptions(f string) ([]verify.Option, error) {
	if f == "" {
		return nil, nil
	}
	o, err := ruleDataOption(f)
	if err != nil {
		return nil, stepcli.Usagef("%v", err)
	}
	return []verify.Option{o}, nil
}

func ruleDataOption(f string) (verify.Option, error) {
	rd, err := loadRuleData(f)
	if err != nil {
		return nil, fmt.Errorf("--rule-data: %w", err)
	}
	return verify.WithRuleData(rd), nil
}

// vsaOptions signs verification summaries when --vsa-signing-key is
// given; --vsa-dir and --push-vsa without it are an error rather than
// silently ignored.
func vsaOptions(c *cli.Context, getenv func(string) string) ([]verify.Option, error) {
	k := c.String("vsa-signing-key")
	if k == "" {
		if c.Bool("push-vsa") || c.String("vsa-dir") != "" {
			return nil, stepcli.Usagef("--push-vsa and --vsa-dir need --vsa-signing-key")
		}
		return nil, nil
	}
	s, err := signing.Load(k, signing.WithPassword([]byte(getenv("COSIGN_PASSWORD"))))
	if err != nil {
		return nil, stepcli.Usagef("--vsa-signing-key: %v", err)
	}
	return []verify.Option{verify.WithVSA(s, c.String("vsa-dir"), c.Bool("push-vsa"))}, nil
}

// verifyImages runs the verification and says on stderr how long it took
// and how the registry cache served it.
func verifyImages(c *cli.Context, v *verify.Verifier, images []verify.Image) (*report.Report, error) {
	start := time.Now()
	rep, err := v.Verify(c.Context, images)
	if err != nil {
		return nil, &exitcode.Err{Code: exitcode.Error, Err: err}
	}
	hits, misses := v.CacheStats()
	fmt.Fprintf(c.App.ErrWriter, "verified %d image(s) in %s (registry cache: %d hits, %d misses)\n", len(images), time.Since(start).Round(time.Millisecond), hits, misses)
	return rep, nil
}

// writeReport writes every output and the TEST_OUTPUT result, then
// returns the error that gives the exit code.
func writeReport(c *cli.Context, rep *report.Report, outputs []report.Output, nImages int) error {
	now := time.Now()
	for _, o := range outputs {
		if err := writeOutput(rep, o, c.App.Writer, c.App.ErrWriter, now); err != nil {
			return &exitcode.Err{Code: exitcode.Error, Err: err}
		}
	}
	if err := stepcli.Results(c).WriteJSON("TEST_OUTPUT", rep.TestOutput(now)); err != nil {
		return &exitcode.Err{Code: exitcode.Error, Err: err}
	}
	_, failures, _ := rep.Counts()
	switch {
	case rep.Errors > 0:
		return &exitcode.Err{Code: exitcode.Error, Err: fmt.Errorf("could not verify %d of %d image(s)", rep.Errors, nImages)}
	case !rep.Success && c.Bool("strict"):
		return exitcode.CheckFailedf("%d policy violation(s) in %d image(s)", failures, nImages)
	}
	return nil
}

// writeOutput renders one output. Files are written whole or not at all
// (temporary file, then rename); text without a file goes to stderr, the
// other formats to stdout.
func writeOutput(rep *report.Report, o report.Output, stdout, stderr io.Writer, now time.Time) error {
	var buf bytes.Buffer
	if err := rep.Write(&buf, o.Format, now); err != nil {
		return err
	}
	if o.File == "" {
		w := stdout
		if o.Format == report.Text {
			w = stderr
		}
		_, err := w.Write(buf.Bytes())
		return err
	}
	if err := outfile.Write(o.File, buf.Bytes(), outfile.WithParents(), outfile.WithStdout(stdout)); err != nil {
		return fmt.Errorf("--output %s=%s: %w", o.Format, o.File, err)
	}
	return nil
}

// loadRuleData reads a rule data file: a YAML or JSON object. A
// "rule_data" top-level key, as in a data source, is unwrapped.
func loadRuleData(path string) (map[string]any, error) {
	return jsondoc.Load(path, "rule data", func(b []byte) (map[string]any, error) {
		js, _, err := jsondoc.Object(b)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			return nil, err
		}
		if inner, ok := m["rule_data"].(map[string]any); ok && len(m) == 1 {
			m = inner
		}
		return m, nil
	})
}
