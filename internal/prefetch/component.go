package prefetch

import (
	"fmt"
	"net/url"
	"strings"
)

// component is one prefetched dependency, as the SBOM lists it.
type component struct {
	kind    string // gomod, npm, pip, generic
	name    string
	version string
	purl    string
	// downloadURL is where it was fetched from.
	downloadURL string
	// file is its path under the output directory.
	file string
	// pin is the checksum the lockfile pinned, as the lockfile writes it.
	pin string
	// sha256 is the hex SHA-256 of the file, filled after the download.
	sha256 string
	// extraHashes are other digests known for it (algorithm → hex), such
	// as npm's sha512 integrity.
	extraHashes map[string]string
}

// UnpinnedError lists the packages of a lockfile that no checksum pins.
type UnpinnedError struct {
	File     string
	Packages []string
	Why      string
}

func (e *UnpinnedError) Error() string {
	why := e.Why
	if why == "" {
		why = "not pinned by a checksum"
	}
	if len(e.Packages) == 1 {
		return fmt.Sprintf("%s: %s is %s", e.File, e.Packages[0], why)
	}
	return fmt.Sprintf("%s: %d packages are %s: %s", e.File, len(e.Packages), why, strings.Join(e.Packages, ", "))
}

// purlEscape escapes one purl segment (name, version or namespace part).
func purlEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// purlPath escapes each segment of a slash-separated purl namespace/name.
func purlPath(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = purlEscape(parts[i])
	}
	return strings.Join(parts, "/")
}
