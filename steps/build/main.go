// Command build builds a container image from a source tree and a
// Containerfile with the buildah library and pushes it, reporting
// IMAGE_URL, IMAGE_DIGEST and IMAGE_REF as Tekton results.
package main

import (
	"github.com/trustline-dev/trustline/internal/stepcli"
	"go.podman.io/buildah"
)

func main() {
	// buildah's chroot isolation and the hermetic build re-execute this
	// binary; those children must not parse flags.
	if buildah.InitReexec() {
		return
	}
	stepcli.Main(newApp())
}
