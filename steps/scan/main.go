// Command scan is the scan step: vulnerabilities of an SBOM against an
// OSV database, or misconfigurations of Containerfiles and Kubernetes and
// Tekton YAML. The flow lives in internal/scan and its step package.
package main

import (
	"github.com/trustline-dev/trustline/internal/scan/step"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func main() { stepcli.Main(step.App()) }
