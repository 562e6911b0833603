package cvss

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CVSS v4.0 scores a vector by its "macrovector" (six equivalence classes,
// EQ1..EQ6) looked up in a table of expert-assigned scores, then
// interpolates within the macrovector by the vector's distance from the
// highest-severity vectors of that class. The tables below are the data
// published with FIRST's reference calculator (cvss_lookup.js,
// max_composed.js, max_severity.js; Copyright FIRST.ORG, Inc., Red Hat and
// contributors, BSD-2-Clause).

var v4Lookup = map[string]float64{
	"000000": 10, "000001": 9.9, "000010": 9.8, "000011": 9.5, "000020": 9.5, "000021": 9.2,
	"000100": 10, "000101": 9.6, "000110": 9.3, "000111": 8.7, "000120": 9.1, "000121": 8.1,
	"000200": 9.3, "000201": 9.0, "000210": 8.9, "000211": 8.0, "000220": 8.1, "000221": 6.8,
	"001000": 9.8, "001001": 9.5, "001010": 9.5, "001011": 9.2, "001020": 9.0, "001021": 8.4,
	"001100": 9.3, "001101": 9.2, "001110": 8.9, "001111": 8.1, "001120": 8.1, "001121": 6.5,
	"001200": 8.8, "001201": 8.0, "001210": 7.8, "001211": 7.0, "001220": 6.9, "001221": 4.8,
	"002001": 9.2, "002011": 8.2, "002021": 7.2, "002101": 7.9, "002111": 6.9, "002121": 5.0,
	"002201": 6.9, "002211": 5.5, "002221": 2.7, "010000": 9.9, "010001": 9.7, "010010": 9.5,
	"010011": 9.2, "010020": 9.2, "010021": 8.5, "010100": 9.5, "010101": 9.1, "010110": 9.0,
	"010111": 8.3, "010120": 8.4, "010121": 7.1, "010200": 9.2, "010201": 8.1, "010210": 8.2,
	"010211": 7.1, "010220": 7.2, "010221": 5.3, "011000": 9.5, "011001": 9.3, "011010": 9.2,
	"011011": 8.5, "011020": 8.5, "011021": 7.3, "011100": 9.2, "011101": 8.2, "011110": 8.0,
	"011111": 7.2, "011120": 7.0, "011121": 5.9, "011200": 8.4, "011201": 7.0, "011210": 7.1,
	"011211": 5.2, "011220": 5.0, "011221": 3.0, "012001": 8.6, "012011": 7.5, "012021": 5.2,
	"012101": 7.1, "012111": 5.2, "012121": 2.9, "012201": 6.3, "012211": 2.9, "012221": 1.7,
	"100000": 9.8, "100001": 9.5, "100010": 9.4, "100011": 8.7, "100020": 9.1, "100021": 8.1,
	"100100": 9.4, "100101": 8.9, "100110": 8.6, "100111": 7.4, "100120": 7.7, "100121": 6.4,
	"100200": 8.7, "100201": 7.5, "100210": 7.4, "100211": 6.3, "100220": 6.3, "100221": 4.9,
	"101000": 9.4, "101001": 8.9, "101010": 8.8, "101011": 7.7, "101020": 7.6, "101021": 6.7,
	"101100": 8.6, "101101": 7.6, "101110": 7.4, "101111": 5.8, "101120": 5.9, "101121": 5.0,
	"101200": 7.2, "101201": 5.7, "101210": 5.7, "101211": 5.2, "101220": 5.2, "101221": 2.5,
	"102001": 8.3, "102011": 7.0, "102021": 5.4, "102101": 6.5, "102111": 5.8, "102121": 2.6,
	"102201": 5.3, "102211": 2.1, "102221": 1.3, "110000": 9.5, "110001": 9.0, "110010": 8.8,
	"110011": 7.6, "110020": 7.6, "110021": 7.0, "110100": 9.0, "110101": 7.7, "110110": 7.5,
	"110111": 6.2, "110120": 6.1, "110121": 5.3, "110200": 7.7, "110201": 6.6, "110210": 6.8,
	"110211": 5.9, "110220": 5.2, "110221": 3.0, "111000": 8.9, "111001": 7.8, "111010": 7.6,
	"111011": 6.7, "111020": 6.2, "111021": 5.8, "111100": 7.4, "111101": 5.9, "111110": 5.7,
	"111111": 5.7, "111120": 4.7, "111121": 2.3, "111200": 6.1, "111201": 5.2, "111210": 5.7,
	"111211": 2.9, "111220": 2.4, "111221": 1.6, "112001": 7.1, "112011": 5.9, "112021": 3.0,
	"112101": 5.8, "112111": 2.6, "112121": 1.5, "112201": 2.3, "112211": 1.3, "112221": 0.6,
	"200000": 9.3, "200001": 8.7, "200010": 8.6, "200011": 7.2, "200020": 7.5, "200021": 5.8,
	"200100": 8.6, "200101": 7.4, "200110": 7.4, "200111": 6.1, "200120": 5.6, "200121": 3.4,
	"200200": 7.0, "200201": 5.4, "200210": 5.2, "200211": 4.0, "200220": 4.0, "200221": 2.2,
	"201000": 8.5, "201001": 7.5, "201010": 7.4, "201011": 5.5, "201020": 6.2, "201021": 5.1,
	"201100": 7.2, "201101": 5.7, "201110": 5.5, "201111": 4.1, "201120": 4.6, "201121": 1.9,
	"201200": 5.3, "201201": 3.6, "201210": 3.4, "201211": 1.9, "201220": 1.9, "201221": 0.8,
	"202001": 6.4, "202011": 5.1, "202021": 2.0, "202101": 4.7, "202111": 2.1, "202121": 1.1,
	"202201": 2.4, "202211": 0.9, "202221": 0.4, "210000": 8.8, "210001": 7.5, "210010": 7.3,
	"210011": 5.3, "210020": 6.0, "210021": 5.0, "210100": 7.3, "210101": 5.5, "210110": 5.9,
	"210111": 4.0, "210120": 4.1, "210121": 2.0, "210200": 5.4, "210201": 4.3, "210210": 4.5,
	"210211": 2.2, "210220": 2.0, "210221": 1.1, "211000": 7.5, "211001": 5.5, "211010": 5.8,
	"211011": 4.5, "211020": 4.0, "211021": 2.1, "211100": 6.1, "211101": 5.1, "211110": 4.8,
	"211111": 1.8, "211120": 2.0, "211121": 0.9, "211200": 4.6, "211201": 1.8, "211210": 1.7,
	"211211": 0.7, "211220": 0.8, "211221": 0.2, "212001": 5.3, "212011": 2.4, "212021": 1.4,
	"212101": 2.4, "212111": 1.2, "212121": 0.5, "212201": 1.0, "212211": 0.3, "212221": 0.1,
}

// Highest-severity vectors of each EQ level.
var (
	v4MaxEQ1 = [][]string{{"AV:N/PR:N/UI:N"}, {"AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"}, {"AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"}}
	v4MaxEQ2 = [][]string{{"AC:L/AT:N"}, {"AC:H/AT:N", "AC:L/AT:P"}}
	// indexed [eq3][eq6]
	v4MaxEQ3 = [][][]string{
		{{"VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"}, {"VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"}},
		{{"VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"}, {"VC:L/VI:H/VA:L/CR:H/IR:M/AR:H", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M", "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H", "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M"}},
		{nil, {"VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"}},
	}
	v4MaxEQ4 = [][]string{{"SC:H/SI:S/SA:S"}, {"SC:H/SI:H/SA:H"}, {"SC:L/SI:L/SA:L"}}
	v4MaxEQ5 = [][]string{{"E:A"}, {"E:P"}, {"E:U"}}

	// Depth of each level, in steps of 0.1.
	v4DepthEQ1    = []float64{1, 4, 5}
	v4DepthEQ2    = []float64{1, 2}
	v4DepthEQ3EQ6 = [][]float64{{7, 6}, {8, 8}, {0, 10}}
	v4DepthEQ4    = []float64{6, 5, 4}
)

// Severity distance of each value, per metric.
var v4Levels = map[string]map[string]float64{
	"AV": {"N": 0.0, "A": 0.1, "L": 0.2, "P": 0.3},
	"PR": {"N": 0.0, "L": 0.1, "H": 0.2},
	"UI": {"N": 0.0, "P": 0.1, "A": 0.2},
	"AC": {"L": 0.0, "H": 0.1},
	"AT": {"N": 0.0, "P": 0.1},
	"VC": {"H": 0.0, "L": 0.1, "N": 0.2},
	"VI": {"H": 0.0, "L": 0.1, "N": 0.2},
	"VA": {"H": 0.0, "L": 0.1, "N": 0.2},
	"SC": {"H": 0.1, "L": 0.2, "N": 0.3},
	"SI": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
	"SA": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
	"CR": {"H": 0.0, "M": 0.1, "L": 0.2},
	"IR": {"H": 0.0, "M": 0.1, "L": 0.2},
	"AR": {"H": 0.0, "M": 0.1, "L": 0.2},
}

var v4Base = []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"}

// Values each metric may take in a vector string.
var v4Allowed = map[string]string{
	"AV": "NALP", "AC": "LH", "AT": "NP", "PR": "NLH", "UI": "NPA",
	"VC": "HLN", "VI": "HLN", "VA": "HLN", "SC": "HLN", "SI": "HLN", "SA": "HLN",
	"E": "XAPU", "CR": "XHML", "IR": "XHML", "AR": "XHML",
	"MAV": "XNALP", "MAC": "XLH", "MAT": "XNP", "MPR": "XNLH", "MUI": "XNPA",
	"MVC": "XHLN", "MVI": "XHLN", "MVA": "XHLN", "MSC": "XHLN", "MSI": "XSHLN", "MSA": "XSHLN",
	"S": "XNP", "AU": "XNY", "R": "XAUI", "V": "XDC", "RE": "XLMH", "U": "X",
}

// ScoreV4 computes the CVSS v4.0 score of a vector (base, threat and
// environmental metrics taken into account when present). Its steps are
// those of the specification and FIRST's calculator: the macrovector and
// its score, the next lower macrovectors, the severity distances from the
// highest-severity vectors, and the interpolation between them.
func ScoreV4(vector string) (float64, error) {
	sel, err := parseV4(vector)
	if err != nil {
		return 0, err
	}
	m := sel.effective
	if m("VC") == "N" && m("VI") == "N" && m("VA") == "N" && m("SC") == "N" && m("SI") == "N" && m("SA") == "N" {
		return 0, nil
	}
	eq := v4MacroVector(m)
	value, ok := v4LookupScore(eq, [6]int{})
	if !ok {
		return 0, fmt.Errorf("cvss vector %q: no score for its macrovector", vector)
	}
	lower := v4NextLower(eq)
	dist := v4SeverityDistances(eq, m)
	value = v4Interpolate(value, eq, lower, dist)
	value = math.Min(math.Max(value, 0), 10)
	return math.Floor(value*10+0.5) / 10, nil
}

// v4Selection is a vector's metrics as written.
type v4Selection map[string]string

// parseV4 reads a CVSS v4.0 vector and checks every metric and value.
func parseV4(vector string) (v4Selection, error) {
	if !strings.HasPrefix(vector, "CVSS:4.0/") {
		return nil, fmt.Errorf("cvss vector %q: not CVSS:4.0", vector)
	}
	sel, err := parseMetrics(vector)
	if err != nil {
		return nil, err
	}
	for k, v := range sel {
		allowed, ok := v4Allowed[k]
		if !ok {
			return nil, fmt.Errorf("cvss vector %q: unknown metric %s", vector, k)
		}
		if k == "U" {
			continue // Urgency takes words (Clear, Green, Amber, Red); it does not score.
		}
		if len(v) != 1 || !strings.Contains(allowed, v) {
			return nil, fmt.Errorf("cvss vector %q: metric %s has invalid value %q", vector, k, v)
		}
	}
	for _, k := range v4Base {
		if _, ok := sel[k]; !ok {
			return nil, fmt.Errorf("cvss vector %q: base metric %s missing", vector, k)
		}
	}
	return sel, nil
}

// effective is the value a metric is scored with: its modified
// (environmental) value when given, and for threat and security
// requirements left unset, the worst case the specification assumes.
func (sel v4Selection) effective(metric string) string {
	v := sel[metric]
	if v == "" {
		v = "X"
	}
	if metric == "E" && v == "X" {
		return "A"
	}
	if (metric == "CR" || metric == "IR" || metric == "AR") && v == "X" {
		return "H"
	}
	if mod, ok := sel["M"+metric]; ok && mod != "X" {
		return mod
	}
	return v
}

// v4MacroVector returns the levels of the equivalence sets EQ1..EQ6 the
// metric values m fall in.
func v4MacroVector(m func(string) string) [6]int {
	var eq [6]int
	switch {
	case m("AV") == "N" && m("PR") == "N" && m("UI") == "N":
		eq[0] = 0
	case (m("AV") == "N" || m("PR") == "N" || m("UI") == "N") && m("AV") != "P":
		eq[0] = 1
	default:
		eq[0] = 2
	}
	if !(m("AC") == "L" && m("AT") == "N") {
		eq[1] = 1
	}
	switch {
	case m("VC") == "H" && m("VI") == "H":
		eq[2] = 0
	case m("VC") == "H" || m("VI") == "H" || m("VA") == "H":
		eq[2] = 1
	default:
		eq[2] = 2
	}
	switch {
	case m("MSI") == "S" || m("MSA") == "S":
		eq[3] = 0
	case m("SC") == "H" || m("SI") == "H" || m("SA") == "H":
		eq[3] = 1
	default:
		eq[3] = 2
	}
	eq[4] = map[string]int{"A": 0, "P": 1, "U": 2}[m("E")]
	if !((m("CR") == "H" && m("VC") == "H") || (m("IR") == "H" && m("VI") == "H") || (m("AR") == "H" && m("VA") == "H")) {
		eq[5] = 1
	}
	return eq
}

// v4LookupScore returns the score of the macrovector eq+d, if it exists.
func v4LookupScore(eq, d [6]int) (float64, bool) {
	var b strings.Builder
	for i := range eq {
		b.WriteString(strconv.Itoa(eq[i] + d[i]))
	}
	s, ok := v4Lookup[b.String()]
	return s, ok
}

// v4Lower holds the scores of the next lower macrovectors, one a level
// lower in EQ1, EQ2, EQ3 and EQ6 together, and EQ4, where they exist.
// EQ5's is only ever counted, never scored.
type v4Lower struct {
	score [4]float64
	ok    [4]bool
	okEQ5 bool
}

func v4NextLower(eq [6]int) v4Lower {
	lowerEQ1, okEQ1 := v4LookupScore(eq, [6]int{1, 0, 0, 0, 0, 0})
	lowerEQ2, okEQ2 := v4LookupScore(eq, [6]int{0, 1, 0, 0, 0, 0})
	lowerEQ3EQ6, okEQ3EQ6 := v4NextLowerEQ3EQ6(eq)
	lowerEQ4, okEQ4 := v4LookupScore(eq, [6]int{0, 0, 0, 1, 0, 0})
	_, okEQ5 := v4LookupScore(eq, [6]int{0, 0, 0, 0, 1, 0})
	return v4Lower{
		score: [4]float64{lowerEQ1, lowerEQ2, lowerEQ3EQ6, lowerEQ4},
		ok:    [4]bool{okEQ1, okEQ2, okEQ3EQ6, okEQ4},
		okEQ5: okEQ5,
	}
}

// v4NextLowerEQ3EQ6 steps EQ3 and EQ6 down together, as they share the
// highest-severity vectors; from 0/0 either may step, and the higher of
// the two scores is the next lower.
func v4NextLowerEQ3EQ6(eq [6]int) (float64, bool) {
	switch {
	case eq[2] == 0 && eq[5] == 0:
		left, okL := v4LookupScore(eq, [6]int{0, 0, 0, 0, 0, 1})
		right, okR := v4LookupScore(eq, [6]int{0, 0, 1, 0, 0, 0})
		if okL && okR && left > right {
			return left, true
		}
		return right, okR
	case eq[2] == 1 && eq[5] == 0:
		return v4LookupScore(eq, [6]int{0, 0, 0, 0, 0, 1})
	case eq[5] == 1 && (eq[2] == 0 || eq[2] == 1):
		return v4LookupScore(eq, [6]int{0, 0, 1, 0, 0, 0})
	default:
		return v4LookupScore(eq, [6]int{0, 0, 1, 0, 0, 1})
	}
}

// v4SeverityDistances returns, per metric, the distance of the value m
// gives it from its value in the first highest-severity vector of the
// macrovector from which the vector is nowhere "more severe".
func v4SeverityDistances(eq [6]int, m func(string) string) map[string]float64 {
	var dist map[string]float64
	for _, a := range v4MaxEQ1[eq[0]] {
		for _, b := range v4MaxEQ2[eq[1]] {
			for _, c := range v4MaxEQ3[eq[2]][eq[5]] {
				for _, d := range v4MaxEQ4[eq[3]] {
					for _, e := range v4MaxEQ5[eq[4]] {
						max := map[string]string{}
						for _, p := range strings.Split(a+"/"+b+"/"+c+"/"+d+"/"+e, "/") {
							k, v, _ := strings.Cut(p, ":")
							max[k] = v
						}
						dist = map[string]float64{}
						negative := false
						for metric, levels := range v4Levels {
							dist[metric] = levels[m(metric)] - levels[max[metric]]
							if dist[metric] < 0 {
								negative = true
							}
						}
						if !negative {
							return dist
						}
					}
				}
			}
		}
	}
	return dist
}

// v4Interpolate lowers value, the macrovector's score, by the mean over
// the EQs with a next lower macrovector of the vector's distance into the
// macrovector, as a proportion of its depth, times the step down in score.
func v4Interpolate(value float64, eq [6]int, lower v4Lower, dist map[string]float64) float64 {
	const step = 0.1
	cur := [4]float64{
		dist["AV"] + dist["PR"] + dist["UI"],
		dist["AC"] + dist["AT"],
		dist["VC"] + dist["VI"] + dist["VA"] + dist["CR"] + dist["IR"] + dist["AR"],
		dist["SC"] + dist["SI"] + dist["SA"],
	}
	depth := [4]float64{
		v4DepthEQ1[eq[0]] * step,
		v4DepthEQ2[eq[1]] * step,
		v4DepthEQ3EQ6[eq[2]][eq[5]] * step,
		v4DepthEQ4[eq[3]] * step,
	}
	existing := 0
	sum := 0.0
	for i := range 4 {
		if lower.ok[i] {
			existing++
			sum += (value - lower.score[i]) * (cur[i] / depth[i])
		}
	}
	if lower.okEQ5 {
		existing++ // EQ5 always contributes a proportion of 0
	}
	if existing > 0 {
		value -= sum / float64(existing)
	}
	return value
}
