// Command attest signs an image and attaches in-toto attestations to it in
// the registry, in the layout cosign v2 reads (see internal/attest). It is
// the step binary of tasks/attest.
package main

import (
	"os"

	"github.com/trustline-dev/trustline/internal/stepcli"
)

func main() {
	stepcli.Main(newApp(os.Getenv))
}
