package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/policyexport"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:        "policy",
		Usage:       "export trustline's deploy-time check for other admission controllers",
		Subcommands: []*cli.Command{policyExportCommand()},
	}
}

func policyExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a sigstore policy-controller ClusterImagePolicy or a Kyverno ClusterPolicy",
		Description: `For a cluster that already runs sigstore's policy-controller or Kyverno:
the same signature and attestation check as trustline's deploy gate, in that
controller's policy. The image must carry a cosign signature by --public-key
and signed attestations of each --predicate-type (default SLSA provenance
v1) by the same key; Rekor is not consulted (trustline signs with a key).

Only the signature and the attestations' presence and signer are
translated: trustline's Rego rules (trusted tasks, SBOM, scan and test
results) need ` + "`verify-policy serve`" + ` (docs/deploy-gate.md).

--image patterns use policy-controller's glob syntax (* within a path
segment, ** across); Kyverno gets them with ** as its *. Kyverno's rule
applies to namespaces with --namespace-label; policy-controller gates the
namespaces labelled policy.sigstore.dev/include=true.

Examples:
   trustline policy export --format policy-controller --public-key cosign.pub \
     --image 'registry.example.com/org/**' > cip.yaml
   trustline policy export --format kyverno --public-key cosign.pub \
     --image 'registry.example.com/org/**' --output kyverno-policy.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "`FORMAT`: policy-controller or kyverno", Required: true},
			&cli.StringFlag{Name: "public-key", Usage: "cosign public key `FILE` (PEM) that signs the images and attestations", Required: true},
			&cli.StringSliceFlag{Name: "image", Usage: "image `PATTERN` the policy covers (repeatable), e.g. registry.example.com/org/**", Required: true},
			&cli.StringFlag{Name: "name", Value: "trustline", Usage: "`NAME` of the cluster-scoped policy"},
			&cli.StringSliceFlag{Name: "predicate-type", Usage: "require a signed attestation of `TYPE` (repeatable; default " + policyexport.SLSAProvenance + ")"},
			&cli.StringFlag{Name: "namespace-label", Value: "trustline.dev/deploy-gate=enabled", Usage: "Kyverno only: apply to namespaces labelled `KEY=VALUE`"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			key, err := os.ReadFile(c.String("public-key"))
			if err != nil {
				return stepcli.Usagef("--public-key: %v", err)
			}
			b, err := policyexport.Export(c.String("format"), policyexport.Spec{
				Name: c.String("name"), Images: c.StringSlice("image"), PublicKey: key,
				PredicateTypes: c.StringSlice("predicate-type"), NamespaceLabel: c.String("namespace-label"),
			})
			if errors.Is(err, policyexport.ErrBadSpec) {
				return stepcli.Usagef("%s", strings.TrimPrefix(err.Error(), policyexport.ErrBadSpec.Error()+": "))
			} else if err != nil {
				return err
			}
			if out := c.String("output"); out != "" {
				if err := outfile.Write(out, b, outfile.WithStdout(c.App.Writer)); err != nil {
					return fmt.Errorf("--output: %w", err)
				}
				return nil
			}
			_, err = c.App.Writer.Write(b)
			return err
		},
	}
}
