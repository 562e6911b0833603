// Package syfttest holds only tests: the scanner reads SBOMs that syft
// itself writes (its CycloneDX and SPDX encoders, its Go binary
// cataloger), and those the sbom step generates and attaches to an image
// in a registry, and finds what govulncheck finds. It sits apart because
// linking syft makes a test binary slow to build.
package syfttest
