// Command sbom writes the software bill of materials of a container image
// (CycloneDX 1.6 or SPDX 2.3 JSON), cataloged layer by layer with syft's
// image catalogers, and can attach it to the image in the registry.
package main

import "github.com/trustline-dev/trustline/internal/stepcli"

func main() { stepcli.Main(newApp()) }
