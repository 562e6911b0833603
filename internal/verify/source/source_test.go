package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

func push(t *testing.T, ref string, layers ...mutate.Addendum) {
	t.Helper()
	img, err := mutate.Append(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

func file(content, title string, mt types.MediaType) mutate.Addendum {
	return mutate.Addendum{Layer: static.NewLayer([]byte(content), mt), Annotations: map[string]string{titleAnn: title}}
}

func TestPullConftestBundleOnceByDigest(t *testing.T) {
	reg := testregistry.Start(t)
	push(t, reg+"/policy:v1",
		file("package a\n", "policy/a/a.rego", regoLayer),
		file(`{"rule_data":{}}`, "data/rule_data.json", dataLayer))
	cache := t.TempDir()
	r := New(WithCacheDir(cache))
	got, err := r.Resolve(context.Background(), "oci::"+reg+"/policy:v1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Digest, "sha256:") {
		t.Errorf("digest %q", got.Digest)
	}
	if b, _ := os.ReadFile(filepath.Join(got.Path, "policy/a/a.rego")); string(b) != "package a\n" {
		t.Errorf("rego file: %q", b)
	}
	// A second resolve uses the cache: replace the files and see them kept.
	os.WriteFile(filepath.Join(got.Path, "marker"), []byte("x"), 0o644)
	again, err := r.Resolve(context.Background(), "oci::"+reg+"/policy:v1")
	if err != nil || again.Path != got.Path {
		t.Fatalf("second resolve: %v %v", again, err)
	}
	if _, err := os.Stat(filepath.Join(again.Path, "marker")); err != nil {
		t.Error("second resolve pulled again")
	}
}

func TestPullTarLayer(t *testing.T) {
	reg := testregistry.Start(t)
	push(t, reg+"/bundle:v1", mutate.Addendum{Layer: testimage.Layer(t, testimage.File{Name: "p/x.rego", Body: "package x\n"})})
	got, err := New(WithCacheDir(t.TempDir())).Resolve(context.Background(), "oci::"+reg+"/bundle:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(got.Path, "p/x.rego")); err != nil {
		t.Error(err)
	}
}

func TestRejectsEscapesAndBadSources(t *testing.T) {
	reg := testregistry.Start(t)
	push(t, reg+"/evil:v1", file("x", "../../etc/evil.rego", regoLayer))
	push(t, reg+"/evil2:v1", mutate.Addendum{Layer: testimage.Layer(t, testimage.File{Name: "/abs.rego", Body: "x"})})
	push(t, reg+"/untitled:v1", mutate.Addendum{Layer: static.NewLayer([]byte("x"), regoLayer)})
	cache := t.TempDir()
	r := New(WithCacheDir(cache), WithBaseDir(t.TempDir()))
	for loc, want := range map[string]string{
		"oci::" + reg + "/evil:v1":     "leaves the artifact",
		"oci::" + reg + "/evil2:v1":    "leaves the artifact",
		"oci::" + reg + "/untitled:v1": "annotation",
		"oci::" + reg + "/missing:v1":  "missing",
		"s3::https://example.com/x":    `getter "s3" is not supported`,
		"./does-not-exist":             "does-not-exist",
	} {
		_, err := r.Resolve(context.Background(), loc)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%s) = %v, want %q", loc, err, want)
		}
	}
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(cache, e.Name(), ".complete")); err == nil || strings.HasPrefix(e.Name(), ".pull") {
			t.Errorf("cache holds %s after failed pulls", e.Name())
		}
	}
}
