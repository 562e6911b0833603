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
	".mo": true, ".po": true, ".pot": true, ".pm": true, ".pod": true,
}

var irrelevantDirs = []string{
	"/usr/share/man/", "/usr/share/locale/", "/usr/share/i18n/", "/usr/share/zoneinfo/",
	"/usr/share/info/", "/usr/share/doc/", "/usr/share/help/", "/usr/share/icons/",
}

func irrelevant(p string) bool {
	base := strings.ToLower(path.Base(p))
	for _, keep := range []string{"licen", "copying", "copyright", "notice", "authors"} {
		if strings.HasPrefix(base, keep) {
			return false
		}
	}
	for _, d := range irrelevantDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return irrelevantExt[path.Ext(base)]
}
