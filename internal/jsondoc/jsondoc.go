// Package jsondoc decodes the JSON documents trustline takes from outside
// (DSSE envelopes, in-toto statements, OSV records, TEST_OUTPUT values,
// prefetch inputs, predicates) as exactly one value, with no trailing
// data, and reads the small configuration documents verify-policy takes
// from users (policy configurations, application snapshots), which may be
// YAML or JSON, bare or wrapped in a Kubernetes-style resource.
package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Object converts a YAML or JSON document to JSON and checks that it is an
// object, returning its JSON and its top-level fields. JSON input is kept
// as it is, so trailing data after the document is caught rather than
// silently dropped by a YAML conversion.
func Object(b []byte) (js []byte, fields map[string]json.RawMessage, err error) {
	js, err = toJSON(b)
	if err != nil {
		return nil, nil, fmt.Errorf("not YAML or JSON: %v", err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || js[0] != '{' {
		return nil, nil, errors.New("the document must be an object")
	}
	if err := json.Unmarshal(js, &fields); err != nil {
		return nil, nil, err
	}
	return js, fields, nil
}

// Load reads the document at path and parses it; an error names the file
// as what it is ("policy", "images file").
func Load[T any](path, what string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("%s %s: %w", what, path, err)
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return v, nil
}

// ErrTrailingData is what Decode, Strict and Exact return for input that
// holds more than one JSON value.
var ErrTrailingData = errors.New("trailing data after the JSON value")

// Decode decodes the one JSON value b holds into v. Anything but white
// space after it is ErrTrailingData. json.Decoder.More alone is not
// enough: it reads a stray '}' or ']' as the end of an enclosing value
// and reports nothing more, so `{"a":1}}` would pass. (json.Unmarshal
// refuses trailing data too, but as a syntax error like any other; a
// decoder lets callers tell the two apart, and Strict and Exact need its
// options anyway.)
func Decode(b []byte, v any) error {
	return decode(json.NewDecoder(bytes.NewReader(b)), b, v)
}

// Strict is Decode, rejecting unknown fields as well.
func Strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return decode(dec, b, v)
}

// Exact is Decode with numbers as json.Number, so a size or a timestamp
// does not round through float64.
func Exact(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return decode(dec, b, v)
}

func decode(dec *json.Decoder, b []byte, v any) error {
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
		return ErrTrailingData
	}
	return nil
}

func toJSON(b []byte) ([]byte, error) {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return t, nil
	}
	if len(t) > 0 && t[0] == '{' {
		var v any
		if err := Decode(t, &v); errors.Is(err, ErrTrailingData) {
			return nil, err
		}
	}
	return yaml.YAMLToJSON(b)
}
