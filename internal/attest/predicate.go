package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/trustline-dev/trustline/internal/jsondoc"
)

// Predicate types, by the short names cosign's --type accepts.
var predicateTypes = map[string]string{
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"slsaprovenance1":  "https://slsa.dev/provenance/v1",
	"spdx":             "https://spdx.dev/Document",
	"spdxjson":         "https://spdx.dev/Document",
	"cyclonedx":        "https://cyclonedx.org/bom",
	"vuln":             "https://cosign.sigstore.dev/attestation/vuln/v1",
	"openvex":          "https://openvex.dev/ns",
	"link":             "https://in-toto.io/Link/v1",
	"test-result":      TestResultPredicateType,
	"vsa":              "https://slsa.dev/verification_summary/v1",
}

// TestResultPredicateType is in-toto's test-result predicate.
const TestResultPredicateType = "https://in-toto.io/attestation/test-result/v0.1"

// PredicateType maps a --type value (a short name as cosign takes it, or a
// URI) to a predicate type URI.
func PredicateType(t string) (string, error) {
	if u, ok := predicateTypes[t]; ok {
		return u, nil
	}
	u, err := url.Parse(t)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		names := make([]string, 0, len(predicateTypes))
		for n := range predicateTypes {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", fmt.Errorf("predicate type %q is neither one of %s nor an absolute URI", t, strings.Join(names, ", "))
	}
	return t, nil
}

// Predicate is one predicate to attest, already checked.
type Predicate struct {
	// Type is the predicate type URI.
	Type string
	// Body is the predicate JSON object.
	Body json.RawMessage
	// Source names where it came from, for messages.
	Source string
	// Statement, when set, is a complete in-toto statement to sign as it
	// is instead of one made from Type and Body (Chains' provenance
	// statement, whose subjects may name more images than this one).
	Statement []byte
}

// LoadPredicate reads a predicate file for --type typ and checks it: it
// must be a JSON object, and for the well-known types it must look like
// that type (a CycloneDX predicate has bomFormat CycloneDX, and so on), so
// that a file passed with the wrong --type is refused rather than signed.
// A file holding a whole in-toto statement of the same predicate type is
// accepted and its predicate used.
func LoadPredicate(path, typ string) (Predicate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Predicate{}, fmt.Errorf("predicate: %w", err)
	}
	p, err := ParsePredicate(b, typ)
	if err != nil {
		return Predicate{}, fmt.Errorf("predicate %s: %w", path, err)
	}
	p.Source = path
	return p, nil
}

// ParsePredicate checks a predicate's bytes against its --type (see
// LoadPredicate).
func ParsePredicate(b []byte, typ string) (Predicate, error) {
	pt, err := PredicateType(typ)
	if err != nil {
		return Predicate{}, err
	}
	var obj map[string]json.RawMessage
	if err := jsondoc.Decode(b, &obj); err != nil {
		return Predicate{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if obj == nil {
		return Predicate{}, errors.New("not a JSON object: null")
	}
	body := json.RawMessage(bytes.TrimSpace(b))
	// A whole statement (what `trustline provenance` or Chains print):
	// use its predicate when the types agree.
	if rawType, ok := obj["_type"]; ok {
		var st struct {
			Type          string                     `json:"_type"`
			PredicateType string                     `json:"predicateType"`
			Predicate     map[string]json.RawMessage `json:"predicate"`
		}
		if err := json.Unmarshal(b, &st); err == nil && strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
			if st.PredicateType != pt {
				return Predicate{}, fmt.Errorf("file is an in-toto statement with predicateType %q, not %q (--type %s)", st.PredicateType, pt, typ)
			}
			if st.Predicate == nil {
				return Predicate{}, errors.New("in-toto statement without a predicate")
			}
			obj = st.Predicate
			body, _ = json.Marshal(st.Predicate)
		} else {
			return Predicate{}, fmt.Errorf("field _type %s is not an in-toto statement type", rawType)
		}
	}
	if err := checkShape(pt, obj); err != nil {
		return Predicate{}, fmt.Errorf("does not match --type %s: %w", typ, err)
	}
	return Predicate{Type: pt, Body: body}, nil
}

// checkShape holds the fields without which a predicate is not of its type.
func checkShape(pt string, obj map[string]json.RawMessage) error {
	str := func(k string) string {
		var s string
		json.Unmarshal(obj[k], &s)
		return s
	}
	isObj := func(k string) bool {
		v := bytes.TrimSpace(obj[k])
		return len(v) > 0 && v[0] == '{'
	}
	switch pt {
	case "https://slsa.dev/provenance/v1":
		if !isObj("buildDefinition") || !isObj("runDetails") {
			return errors.New("SLSA v1 provenance needs buildDefinition and runDetails objects")
		}
	case "https://slsa.dev/provenance/v0.2":
		if !isObj("builder") || str("buildType") == "" {
			return errors.New("SLSA v0.2 provenance needs a builder object and a buildType")
		}
	case "https://cyclonedx.org/bom":
		if str("bomFormat") != "CycloneDX" || str("specVersion") == "" {
			return errors.New(`a CycloneDX BOM needs "bomFormat": "CycloneDX" and a specVersion`)
		}
	case "https://spdx.dev/Document":
		if !strings.HasPrefix(str("spdxVersion"), "SPDX-") || str("SPDXID") == "" {
			return errors.New("an SPDX document needs spdxVersion SPDX-x.y and an SPDXID")
		}
	case "https://cosign.sigstore.dev/attestation/vuln/v1":
		if !isObj("scanner") {
			return errors.New("a cosign vuln predicate needs a scanner object")
		}
	case "https://openvex.dev/ns":
		if !strings.Contains(str("@context"), "openvex") {
			return errors.New("an OpenVEX document needs an openvex @context")
		}
	case TestResultPredicateType:
		switch str("result") {
		case "PASSED", "WARNED", "FAILED":
		default:
			return errors.New("a test-result predicate needs result PASSED, WARNED or FAILED")
		}
	case "https://slsa.dev/verification_summary/v1":
		if !isObj("verifier") || str("verificationResult") == "" {
			return errors.New("a verification summary needs a verifier object and a verificationResult")
		}
	}
	return nil
}
