// Command verify-policy is the step binary of the verify-policy task: it
// verifies images' signatures and attestations and enforces a
// Conforma-compatible Rego policy. See internal/verify; app.go holds the
// command line: flags, their mapping to verify options, outputs and exit
// codes.
package main

import (
	"os"

	"github.com/trustline-dev/trustline/internal/stepcli"
)

func main() {
	stepcli.Main(newApp(os.Getenv))
}
