// Package cvss scores CVSS v3.0/v3.1 and v4.0 base vectors and maps scores
// to the qualitative ratings (none, low, medium, high, critical) that the
// scan step gates on.
package cvss

import (
	"fmt"
	"math"
	"strings"
)

// Rating is a qualitative severity.
type Rating string

// The ratings of the CVSS specification, plus Unknown for a record without
// any usable severity.
const (
	Unknown  Rating = "unknown"
	None     Rating = "none"
	Low      Rating = "low"
	Medium   Rating = "medium"
	High     Rating = "high"
	Critical Rating = "critical"
)

// Rank orders ratings: unknown < none < low < medium < high < critical.
func (r Rating) Rank() int {
	switch r {
	case None:
		return 1
	case Low:
		return 2
	case Medium:
		return 3
	case High:
		return 4
	case Critical:
		return 5
	}
	return 0
}

// ParseRating reads a rating name in any case; "moderate" and "important"
// (Red Hat's words) map to medium and high.
func ParseRating(s string) (Rating, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return Critical, true
	case "high", "important":
		return High, true
	case "medium", "moderate":
		return Medium, true
	case "low":
		return Low, true
	case "none":
		return None, true
	case "unknown", "":
		return Unknown, true
	}
	return Unknown, false
}

// FromScore maps a base score to its rating (the same bands in v3 and v4).
func FromScore(score float64) Rating {
	switch {
	case score >= 9.0:
		return Critical
	case score >= 7.0:
		return High
	case score >= 4.0:
		return Medium
	case score >= 0.1:
		return Low
	}
	return None
}

// Score returns the base score of a CVSS v3.x or v4.0 vector string.
func Score(vector string) (float64, error) {
	v := strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(v, "CVSS:3.0/"), strings.HasPrefix(v, "CVSS:3.1/"):
		return ScoreV3(v)
	case strings.HasPrefix(v, "CVSS:4.0/"):
		return ScoreV4(v)
	}
	return 0, fmt.Errorf("cvss vector %q: unsupported version (want CVSS:3.0, CVSS:3.1 or CVSS:4.0)", vector)
}

// parseMetrics splits "PREFIX/K:V/K:V" into a map, rejecting repeats and
// malformed parts.
func parseMetrics(vector string) (map[string]string, error) {
	parts := strings.Split(vector, "/")
	m := make(map[string]string, len(parts))
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("cvss vector %q: malformed metric %q", vector, p)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("cvss vector %q: metric %s given twice", vector, k)
		}
		m[k] = v
	}
	return m, nil
}

// ScoreV3 computes the CVSS v3.0/v3.1 base score (specification section 7).
func ScoreV3(vector string) (float64, error) {
	m, err := parseMetrics(vector)
	if err != nil {
		return 0, err
	}
	weights := map[string]map[string]float64{
		"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
		"AC": {"L": 0.77, "H": 0.44},
		"UI": {"N": 0.85, "R": 0.62},
		"C":  {"H": 0.56, "L": 0.22, "N": 0},
		"I":  {"H": 0.56, "L": 0.22, "N": 0},
		"A":  {"H": 0.56, "L": 0.22, "N": 0},
	}
	val := map[string]float64{}
	for k, w := range weights {
		x, ok := w[m[k]]
		if !ok {
			return 0, fmt.Errorf("cvss vector %q: metric %s has invalid value %q", vector, k, m[k])
		}
		val[k] = x
	}
	scope := m["S"]
	if scope != "U" && scope != "C" {
		return 0, fmt.Errorf("cvss vector %q: metric S has invalid value %q", vector, scope)
	}
	var pr float64
	switch m["PR"] {
	case "N":
		pr = 0.85
	case "L":
		pr = 0.62
		if scope == "C" {
			pr = 0.68
		}
	case "H":
		pr = 0.27
		if scope == "C" {
			pr = 0.5
		}
	default:
		return 0, fmt.Errorf("cvss vector %q: metric PR has invalid value %q", vector, m["PR"])
	}
	iss := 1 - (1-val["C"])*(1-val["I"])*(1-val["A"])
	var impact float64
	if scope == "U" {
		impact = 6.42 * iss
	} else {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	exploit := 8.22 * val["AV"] * val["AC"] * pr * val["UI"]
	if impact <= 0 {
		return 0, nil
	}
	if scope == "U" {
		return roundUp(math.Min(impact+exploit, 10)), nil
	}
	return roundUp(math.Min(1.08*(impact+exploit), 10)), nil
}

// roundUp is the v3.1 Roundup: the smallest number with one decimal that
// is equal to or higher than its input, computed on integers to avoid
// floating-point artefacts.
func roundUp(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return (math.Floor(float64(i)/10000) + 1) / 10
}
