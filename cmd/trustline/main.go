// Command trustline is the user CLI of the trustline task library:
// everything that is not a pipeline step (validation, docs, bundles, the
// catalog, keys and the local runner). Each command's logic lives in a
// package under internal/; this file only wires them together.
package main

import (
	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/stepcli"
)

func main() {
	stepcli.Main(newApp())
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "trustline",
		Usage: "a secure software factory for Tekton: validate, document, bundle, publish and run the task library",
		// One line per command group; each is defined in its own file.
		Commands: []*cli.Command{
			validateCommand(),
			docsCommand(),
			bundleCommand(),
			catalogCommand(),
			initCommand(),
			keyCommand(),
			runCommand(),
			dbCommand(),
			policyCommand(),
		},
	}
}
