package source

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpackLayer feeds arbitrary layer bytes (a registry is not trusted)
// through the unpacker: it may fail, but never writes outside its root or
// beyond its budget.
func FuzzUnpackLayer(f *testing.F) {
	f.Add([]byte("package a\n"), "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego", "a.rego")
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00}, "application/vnd.oci.image.layer.v1.tar+gzip", "")
	f.Add([]byte("x"), "application/vnd.oci.image.layer.v1.tar", "")
	f.Add([]byte("x"), "application/vnd.cncf.openpolicyagent.data.layer.v1+json", "../x.json")
	f.Fuzz(func(t *testing.T, b []byte, mediaType, title string) {
		parent := t.TempDir()
		root := filepath.Join(parent, "root")
		budget := int64(1 << 20)
		unpackLayer(bytes.NewReader(b), mediaType, title, root, &budget)
		filepath.Walk(parent, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && !strings.HasPrefix(p, root+string(filepath.Separator)) {
				t.Fatalf("wrote %s outside %s", p, root)
			}
			return nil
		})
	})
}
