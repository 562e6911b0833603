package jsondoc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every decoder refuses a second value, and a stray closing bracket,
// which json.Decoder.More does not see.
func TestDecodersRefuseTrailingData(t *testing.T) {
	var v any
	decoders := map[string]func([]byte, any) error{"Decode": Decode, "Strict": Strict, "Exact": Exact}
	for name, decode := range decoders {
		for _, in := range []string{`{"a":1} {}`, `{"a":1}}`, `{"a":1} ]`, "[1]\n,", `"s" x`} {
			if err := decode([]byte(in), &v); !errors.Is(err, ErrTrailingData) {
				t.Errorf("%s(%q) = %v, want %v", name, in, err, ErrTrailingData)
			}
		}
		if err := decode([]byte(" {\"a\":1} \r\n\t"), &v); err != nil {
			t.Errorf("%s with white space around the value: %v", name, err)
		}
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
