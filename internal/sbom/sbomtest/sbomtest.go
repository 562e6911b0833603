// Package sbomtest builds layers with real package databases (a Debian
// root with dpkg packages) for tests of the sbom step and of steps that
// read SBOMs (scan, verify-policy); internal/testimage crafts the layers
// and images.
package sbomtest

import (
	"archive/tar"
	"bytes"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/trustline-dev/trustline/internal/testimage"
)

// OSRelease is Debian 12's /usr/lib/os-release.
const OSRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"

// DpkgEntry is one package of a dpkg status file.
type DpkgEntry struct{ Name, Version, Depends string }

// DebianLayer is a Debian 12 root with the given dpkg packages installed
// (each with a copyright file naming licence "MIT").
func DebianLayer(t testing.TB, pkgs ...DpkgEntry) v1.Layer {
	t.Helper()
	var status bytes.Buffer
	files := []testimage.File{
		{Name: "usr/lib/os-release", Body: OSRelease},
		{Name: "etc/os-release", Type: tar.TypeSymlink, Linkname: "../usr/lib/os-release"},
	}
	for i, p := range pkgs {
		if i > 0 {
			status.WriteString("\n")
		}
		status.WriteString("Package: " + p.Name + "\nStatus: install ok installed\nArchitecture: amd64\nMaintainer: Debian <debian@example.org>\nVersion: " + p.Version + "\n")
		if p.Depends != "" {
			status.WriteString("Depends: " + p.Depends + "\n")
		}
		status.WriteString("Description: " + p.Name + "\n")
		files = append(files, testimage.File{Name: "usr/share/doc/" + p.Name + "/copyright", Body: "Files: *\nCopyright: x\nLicense: MIT\n"})
	}
	files = append(files, testimage.File{Name: "var/lib/dpkg/status", Body: status.String()})
	return testimage.Layer(t, files...)
}
