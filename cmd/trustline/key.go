package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "make signing keys that cosign, Chains and the attest step all read",
		Subcommands: []*cli.Command{{
			Name:  "generate",
			Usage: "write a cosign-compatible key pair (cosign.key encrypted with COSIGN_PASSWORD, cosign.pub)",
			UsageText: `COSIGN_PASSWORD=... trustline key generate [--dir DIR] [--output-key-prefix cosign] [--algorithm ecdsa-p256|ed25519]

Examples:
   COSIGN_PASSWORD="$(pass show signing)" trustline key generate --dir keys/
   # as a Chains signing secret:
   kubectl create secret generic signing-secrets -n tekton-chains \
     --from-file=cosign.key=keys/cosign.key --from-file=cosign.pub=keys/cosign.pub \
     --from-literal=cosign.password="$COSIGN_PASSWORD"`,
			Description: `The private key is PKCS #8, encrypted with scrypt and NaCl secretbox exactly
as "cosign generate-key-pair" does ("ENCRYPTED SIGSTORE PRIVATE KEY"); cosign
sign/attest and Tekton Chains load it as it is. COSIGN_PASSWORD must be set (it
may be empty for an unencrypted-password key). Existing files are never
overwritten.`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "dir", Value: ".", Usage: "write the key pair into `DIR`"},
				&cli.StringFlag{Name: "output-key-prefix", Value: "cosign", Usage: "file name `PREFIX` (PREFIX.key, PREFIX.pub)"},
				&cli.StringFlag{Name: "algorithm", Value: string(signing.ECDSAP256), Usage: "ecdsa-p256 (cosign's default) or ed25519"},
			},
			Action: func(c *cli.Context) error {
				pw, ok := os.LookupEnv("COSIGN_PASSWORD")
				if !ok {
					return stepcli.Usagef("set COSIGN_PASSWORD to the password that encrypts the key (it may be empty)")
				}
				if err := os.MkdirAll(c.String("dir"), 0o755); err != nil {
					return err
				}
				kp, err := signing.Generate(signing.Algorithm(c.String("algorithm")), []byte(pw))
				if err != nil {
					return stepcli.Usagef("%w", err)
				}
				keyPath, pubPath, err := kp.WriteFiles(c.String("dir"), c.String("output-key-prefix"))
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "Private key written to %s\nPublic key written to %s\n", keyPath, pubPath)
				return nil
			},
		}},
	}
}
