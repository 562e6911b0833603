package catalog

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// ChangelogFile is the CHANGELOG beside each task and pipeline version.
const ChangelogFile = "CHANGELOG.md"

// ChangelogEntry is one "## <version>" section of a CHANGELOG.md.
type ChangelogEntry struct {
	Version string
	// Date is what follows the version on the heading line, if it is a
	// date ("## 0.1.1 - 2026-11-20" or "## 0.1.1 (2026-11-20)").
	Date string
	// Notes is the section's text, trimmed.
	Notes string
}

var (
	changelogHeading = regexp.MustCompile(`^##\s+v?(\d+\.\d+\.\d+)\b(.*)$`)
	headingDate      = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
)

// ParseChangelog returns the version sections of a CHANGELOG.md in the
// order they appear (newest first, by convention). Lines before the first
// version heading are ignored; so is any heading that is not a version.
func ParseChangelog(b []byte) []ChangelogEntry {
	var out []ChangelogEntry
	var notes []string
	flush := func() {
		if len(out) > 0 {
			out[len(out)-1].Notes = strings.TrimSpace(strings.Join(notes, "\n"))
		}
		notes = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := changelogHeading.FindStringSubmatch(strings.TrimRight(line, " \t\r")); m != nil {
			flush()
			out = append(out, ChangelogEntry{Version: m[1], Date: headingDate.FindString(m[2])})
			continue
		}
		if strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "# ") {
			flush()
			continue
		}
		if len(out) > 0 {
			notes = append(notes, line)
		}
	}
	flush()
	return out
}

// Since returns the entries newer than version, newest first.
func Since(entries []ChangelogEntry, version string) []ChangelogEntry {
	var out []ChangelogEntry
	for _, e := range entries {
		if SemverLess(version, e.Version) {
			out = append(out, e)
		}
	}
	return out
}
