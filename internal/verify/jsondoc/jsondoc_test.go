package jsondoc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The trailing-data messages are what users read (a policy file, a blob
// parsed by ec.oci.parsed_blob): each decoder keeps its own.
func TestDecodersRefuseTrailingData(t *testing.T) {
	var v any
	if err := Strict([]byte(`{"a":1} {}`), &v); err == nil || err.Error() != "trailing data after the document" {
		t.Errorf("Strict: %v", err)
	}
	if err := Exact([]byte(`{"a":1} {}`), &v); err == nil || err.Error() != "trailing data after the JSON value" {
		t.Errorf("Exact: %v", err)
	}
	var s struct{ A int }
	if err := Strict([]byte(`{"a":1,"b":2}`), &s); err == nil || !strings.Contains(err.Error(), `unknown field "b"`) {
		t.Errorf("Strict with an unknown field: %v", err)
	}
	if err := Exact([]byte(`{"n":12345678901234567890}`), &v); err != nil {
		t.Fatal(err)
	}
	if n, ok := v.(map[string]any)["n"].(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Errorf("Exact rounded the number: %#v", v)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("bad")
	if _, err := Load(path, "policy", func([]byte) (int, error) { return 0, bad }); !errors.Is(err, bad) || err.Error() != "policy "+path+": bad" {
		t.Errorf("parse error: %v", err)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := Load(missing, "images file", func([]byte) (int, error) { return 1, nil }); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "images file "+missing+": ") {
		t.Errorf("read error: %v", err)
	}
	if n, err := Load(path, "policy", func(b []byte) (int, error) { return len(b), nil }); err != nil || n != 1 {
		t.Errorf("Load = %d, %v", n, err)
	}
}
