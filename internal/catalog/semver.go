package catalog

import (
	"strconv"
	"strings"
)

// ParseSemver splits "MAJOR.MINOR.PATCH" (no pre-release: catalog versions
// are releases) into its numbers.
func ParseSemver(v string) (major, minor, patch int, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var n [3]int
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return 0, 0, 0, false
		}
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return 0, 0, 0, false
		}
		n[i] = x
	}
	return n[0], n[1], n[2], true
}

// MajorMinor returns "MAJOR.MINOR" of a full version, the directory a
// version lives in.
func MajorMinor(v string) (string, bool) {
	major, minor, _, ok := ParseSemver(v)
	if !ok {
		return "", false
	}
	return strconv.Itoa(major) + "." + strconv.Itoa(minor), true
}

// SemverLess orders full versions numerically.
func SemverLess(a, b string) bool {
	a1, a2, a3, aok := ParseSemver(a)
	b1, b2, b3, bok := ParseSemver(b)
	if !aok || !bok {
		return a < b
	}
	if a1 != b1 {
		return a1 < b1
	}
	if a2 != b2 {
		return a2 < b2
	}
	return a3 < b3
}
