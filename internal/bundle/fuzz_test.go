package bundle

import (
	"archive/tar"
	"bytes"
	"testing"
)

// FuzzReadLayer feeds untrusted layer bytes (what a registry serves for a
// bundle someone else pushed) to the layer reader: it must never panic or
// return an unbounded resource.
func FuzzReadLayer(f *testing.F) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	body := []byte(`{"apiVersion":"tekton.dev/v1","kind":"Task","metadata":{"name":"x"}}`)
	w.WriteHeader(&tar.Header{Name: "x", Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
	w.Write(body)
	w.Close()
	f.Add(buf.Bytes())
	f.Add(body)
	f.Add([]byte("apiVersion: v1\nkind: Task\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ReadLayer(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(out) == 0 || len(out) > maxResourceBytes {
			t.Fatalf("accepted a resource of %d bytes", len(out))
		}
		r := Resource{Kind: "task", Name: "x", Raw: out}
		_, _ = r.YAML()
	})
}
