// Package testdb holds what the scan tests compare against: govulncheck,
// the Go programs built against old module versions with known advisories,
// and the Go vulnerability database cut from the shared OSV export. It
// serves the scan packages and the scan step (steps/scan, which is why it
// is not under internal/scan/internal); the shared/ folder itself is
// found by internal/sharedtest.
package testdb
