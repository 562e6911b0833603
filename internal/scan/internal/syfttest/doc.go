// Package syfttest holds only tests: the scanner reads SBOMs that syft
// itself writes (its CycloneDX and SPDX encoders, its Go binary
// cataloger) and finds what govulncheck finds. It sits apart because
// linking syft makes a test binary slow to build. The pipeline's order
// (the sbom step attaches an SBOM, the scan step reads it from the
// registry) is tested with the scan step, in steps/scan.
package syfttest
