package sbom

import (
	"path"
	"strings"
)

// Files no syft image cataloger reads: sources of interpreted languages
// (packages are found from their manifests: package.json, METADATA,
// RECORD), web assets, documentation, translations and time zones. They
// are most of the entries of a typical layer, and creating them costs
// more than cataloging (the benchmark's npm layer has 42,000 files). The
// list only ever names what cannot hold package evidence; executables,
// archives and every manifest are always written, and licence files are
// kept wherever they are. scripts/bench/sbom.sh checks that the package
// set stays the same as the syft CLI's.
var irrelevantExt = map[string]bool{
	".js": true, ".mjs": true, ".cjs": true, ".ts": true, ".mts": true, ".cts": true, ".jsx": true, ".tsx": true,
	".map": true, ".css": true, ".scss": true, ".less": true, ".flow": true, ".coffee": true, ".vue": true,
	".md": true, ".markdown": true, ".html": true, ".htm": true, ".rst": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".ico": true, ".webp": true,
	".woff": true, ".woff2": true, ".ttf": true, ".eot": true, ".otf": true,
	".py": true, ".pyc": true, ".pyo": true, ".pyi": true,
	".mo": true, ".po": true, ".pot": true, ".pm": true, ".pod": true, ".pl": true, ".ph": true,
	".h": true, ".hpp": true, ".crt": true, ".nanorc": true, ".jst": true, ".tsbuildinfo": true,
	// Tool settings that ship inside npm packages.
	".eslintrc": true, ".eslintignore": true, ".nycrc": true, ".editorconfig": true, ".npmignore": true,
	".jshintrc": true, ".babelrc": true, ".gitattributes": true, ".gitkeep": true,
}

var irrelevantDirs = []string{
	"/usr/share/man/", "/usr/share/locale/", "/usr/share/i18n/", "/usr/share/zoneinfo/",
	"/usr/share/info/", "/usr/share/doc/", "/usr/share/help/", "/usr/share/icons/",
	// Package managers' repository indexes and download caches: what a
	// repository offers, not what is installed (that is /var/lib/dpkg,
	// /var/lib/rpm, /lib/apk/db). An apt index alone is 47 MiB.
	"/var/lib/apt/lists/", "/var/cache/apt/", "/var/cache/dnf/", "/var/cache/yum/", "/var/cache/apk/",
}

// Names a cataloger asks for although their extension is listed above:
// Perl's perllocal.pod, SWI-Prolog's pack.pl, Python's setup.py.
var manifestNames = map[string]bool{"perllocal.pod": true, "pack.pl": true, "setup.py": true}

func irrelevant(p string) bool {
	base := strings.ToLower(path.Base(p))
	if manifestNames[base] {
		return false
	}
	for _, keep := range []string{"licen", "copying", "copyright", "notice", "authors"} {
		if strings.HasPrefix(base, keep) {
			return false
		}
	}
	if strings.HasPrefix(p, "/usr/share/doc/linux-modules-") {
		return false // the kernel cataloger reads its changelog.Debian.gz
	}
	for _, d := range irrelevantDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return irrelevantExt[path.Ext(base)]
}
