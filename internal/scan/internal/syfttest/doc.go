// Package syfttest holds only a test: the scanner reads SBOMs that syft
// itself writes (its CycloneDX and SPDX encoders, its Go binary
// cataloger) and finds what govulncheck finds. It sits apart because
// linking syft makes a test binary slow to build.
package syfttest
