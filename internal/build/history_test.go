package build

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/testimage"
)

func TestNormalizeHistory(t *testing.T) {
	dir := t.TempDir()
	img, err := random.Image(64, 1)
	must(t, err)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = testimage.EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.History = []v1.History{
			{Comment: "from the base's own build"},
			{Comment: "FROM example.com/base:1", CreatedBy: "/bin/sh -c true"},
			{Comment: "FROM other.example/x:2"},
		}
	})
	p, err := layout.Write(dir, empty.Index)
	must(t, err)
	must(t, p.AppendImage(img))

	changed, err := normalizeHistory(dir, map[string]string{"example.com/base:1": "example.com/base@sha256:" + hex.EncodeToString(make([]byte, 32))})
	must(t, err)
	if !changed {
		t.Fatal("nothing changed")
	}
	idx, err := layout.ImageIndexFromPath(dir)
	must(t, err)
	im, err := idx.IndexManifest()
	must(t, err)
	got, err := idx.Image(im.Manifests[0].Digest)
	must(t, err)
	// Every blob the index points at must exist under its own digest.
	m, err := got.Manifest()
	must(t, err)
	for _, d := range []v1.Hash{im.Manifests[0].Digest, m.Config.Digest} {
		b, err := os.ReadFile(filepath.Join(dir, "blobs", d.Algorithm, d.Hex))
		must(t, err)
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != d.Hex {
			t.Errorf("blob %s has another digest", d)
		}
	}
	gcf, err := got.ConfigFile()
	must(t, err)
	want := []string{"from the base's own build", "FROM example.com/base@sha256:" + hex.EncodeToString(make([]byte, 32)), "FROM other.example/x:2"}
	for i, h := range gcf.History {
		if h.Comment != want[i] {
			t.Errorf("history[%d].Comment = %q, want %q", i, h.Comment, want[i])
		}
	}
	if gcf.History[1].CreatedBy != "/bin/sh -c true" {
		t.Errorf("created_by changed: %q", gcf.History[1].CreatedBy)
	}
	// Idempotent: a second pass changes nothing.
	if changed, err := normalizeHistory(dir, map[string]string{"example.com/base:1": "x"}); err != nil || changed {
		t.Errorf("second pass: changed=%v err=%v", changed, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for reg, want := range map[string]bool{
		"localhost": true, "localhost:5000": true, "127.0.0.1:5000": true, "127.1.2.3": true,
		"[::1]:5000": true, "[::1]": true, "quay.io": false, "10.0.0.1:5000": false, "localhost.example.com": false, "127.example.com": false, "127.0.0.1.nip.io:80": false,
	} {
		if got := isLoopback(reg); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", reg, got, want)
		}
	}
}
