package build

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseBuildArgs turns repeated --build-arg K=V values into a map. A name
// must be a valid ARG name (a letter or '_' followed by letters, digits or
// '_'): buildah would silently ignore an argument a Containerfile cannot
// declare, and a typo should not disappear. The value may be empty and may
// contain '='. Unlike docker, a bare K (copy from the environment) is
// rejected: only main reads the environment.
func ParseBuildArgs(values []string) (map[string]string, error) {
	return parseKeyValues("build-arg", values, validArgName)
}

// ParseLabels turns repeated --label K=V values into a map. A key must be
// non-empty, valid UTF-8 and free of whitespace and control characters,
// because it ends up as a JSON object key in the image config that other
// tools match exactly.
func ParseLabels(values []string) (map[string]string, error) {
	return parseKeyValues("label", values, validLabelKey)
}

func parseKeyValues(flag string, values []string, valid func(string) error) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--%s %q: want KEY=VALUE", flag, kv)
		}
		if err := valid(k); err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flag, kv, err)
		}
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("--%s %q: value is not valid UTF-8", flag, kv)
		}
		if old, dup := out[k]; dup && old != v {
			return nil, fmt.Errorf("--%s %q: %s is already set to %q", flag, kv, k, old)
		}
		out[k] = v
	}
	return out, nil
}

func validArgName(k string) error {
	if k == "" {
		return fmt.Errorf("empty name")
	}
	for i, r := range k {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return fmt.Errorf("name %q: want letters, digits and '_', not starting with a digit", k)
		}
	}
	return nil
}

func validLabelKey(k string) error {
	if k == "" {
		return fmt.Errorf("empty key")
	}
	if !utf8.ValidString(k) {
		return fmt.Errorf("key is not valid UTF-8")
	}
	for _, r := range k {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("key %q contains whitespace or a control character", k)
		}
	}
	return nil
}
