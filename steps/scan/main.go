// Command scan is the scan step: vulnerabilities of an SBOM against an
// OSV database, or misconfigurations of Containerfiles and Kubernetes and
// Tekton YAML. The flow lives in internal/scan; app.go holds the
// command line: flags, reading the SBOM from a file or from beside an
// image, writing the report and the Tekton results.
package main

import "github.com/trustline-dev/trustline/internal/stepcli"

func main() { stepcli.Main(newApp()) }
