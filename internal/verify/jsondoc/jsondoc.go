// Package jsondoc reads the small configuration documents verify-policy
// takes from users (policy configurations, application snapshots), which
// may be YAML or JSON, bare or wrapped in a Kubernetes-style resource, and
// decodes single JSON documents strictly (no trailing data).
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

// Strict decodes JSON into v, rejecting unknown fields and trailing data.
func Strict(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return decodeOne(dec, v, "trailing data after the document")
}

// Exact decodes one JSON value into v with its numbers as json.Number, so
// a size or a timestamp does not round through float64; trailing data is
// an error.
func Exact(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	return decodeOne(dec, v, "trailing data after the JSON value")
}

// decodeOne decodes the first value dec reads into v; anything after it
// is an error saying trailing.
func decodeOne(dec *json.Decoder, v any, trailing string) error {
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New(trailing)
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
		dec := json.NewDecoder(bytes.NewReader(t))
		if err := dec.Decode(&v); err == nil && dec.More() {
			return nil, errors.New("trailing data after the JSON document")
		}
	}
	return yaml.YAMLToJSON(b)
}
