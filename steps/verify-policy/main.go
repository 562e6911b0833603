// Command verify-policy is the step binary of the verify-policy task: it
// verifies images' signatures and attestations and enforces a
// Conforma-compatible Rego policy. See internal/verify.
package main

import (
	"os"

	"github.com/trustline-dev/trustline/internal/stepcli"
	"github.com/trustline-dev/trustline/internal/verify/command"
)

func main() {
	stepcli.Main(command.App(os.Getenv))
}
