package sbom

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/scan/inventory"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// A rebuild that keeps the base and app layers and adds one must read
// only the new layer, and the SBOM must equal a cold run's byte for byte.
func TestCacheWarmEqualsCold(t *testing.T) {
	reg := testregistry.Start(t)
	base, app := baseLayer(t), appLayer(t)
	v1ref := testregistry.Push(t, reg+"/team/app:v1", imageOf(t, "amd64", baseAnnotations, base, app))
	extra := testimage.Layer(t, []testimage.File{
		{Name: "app/node_modules/is-even/package.json", Body: `{"name":"is-even","version":"1.0.0","license":"MIT"}`},
		{Name: "var/lib/dpkg/status", Body: statusApp + "\nPackage: jq\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.6-2.1\nMaintainer: ChangZhuo Chen <czchen@debian.org>\nDescription: JSON processor\n"},
	}...)
	v2ref := testregistry.Push(t, reg+"/team/app:v2", imageOf(t, "amd64", baseAnnotations, base, app, extra))

	cache := t.TempDir()
	generate(t, v1ref, CycloneDX, WithCacheDir(cache))
	warm := generate(t, v2ref, CycloneDX, WithCacheDir(cache))
	cold := generate(t, v2ref, CycloneDX)

	var cached []bool
	for _, l := range warm.Catalog.Layers {
		cached = append(cached, l.Cached)
	}
	if len(cached) != 3 || !cached[0] || !cached[1] || cached[2] {
		t.Errorf("warm run cached layers = %v, want [true true false]", cached)
	}
	for _, l := range cold.Catalog.Layers {
		if l.Cached {
			t.Error("cold run used a cache")
		}
	}
	if !bytes.Equal(warm.Document, cold.Document) {
		t.Errorf("warm SBOM differs from cold SBOM\nwarm:\n%s\ncold:\n%s", warm.Document, cold.Document)
	}
	d, err := inventory.Decode(warm.Document)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := byName(t, d)
	for _, n := range []string{"jq", "is-even", "curl", "left-pad"} {
		if _, ok := pkgs[n]; !ok {
			t.Errorf("warm SBOM lacks %s", n)
		}
	}

	// A damaged cache entry is recomputed, not trusted or fatal.
	entries, _ := filepath.Glob(filepath.Join(cache, "packages-*.json"))
	if len(entries) == 0 {
		t.Fatal("no cache entries written")
	}
	for _, e := range entries {
		if err := os.WriteFile(e, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again := generate(t, v2ref, CycloneDX, WithCacheDir(cache))
	if !bytes.Equal(again.Document, cold.Document) {
		t.Error("SBOM after cache damage differs from a cold run")
	}
}

// emptyJSONDigest is the digest of "{}", the config of an OCI 1.1
// artifact manifest.
const emptyJSONDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

// fetch reads an SBOM back the way the scan step does.
func fetch(d name.Digest) (*cosignoci.AttachedSBOM, error) {
	return cosignoci.New().SBOM(context.Background(), d)
}

func TestAttach(t *testing.T) {
	for _, f := range []Format{CycloneDX, SPDX} {
		t.Run(string(f), func(t *testing.T) {
			reg := testregistry.Start(t)
			dig := appImage(t, reg)
			opts := append([]Option{WithTempDir(t.TempDir())}, fixed...)
			res, err := Generate(context.Background(), Request{Reference: dig, Format: f, Attach: true}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			a := res.Attachment
			if a == nil {
				t.Fatal("no attachment")
			}
			if got, want := a.BlobURL(), reg+"/team/app@"+a.Blob.String(); got != want {
				t.Errorf("BlobURL = %s, want %s", got, want)
			}
			blob, err := remote.Layer(dig.Context().Digest(a.Blob.String()))
			if err != nil {
				t.Fatal(err)
			}
			rc, _ := blob.Compressed()
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, res.Document) {
				t.Error("the blob at SBOM_BLOB_URL is not the document")
			}

			// OCI 1.1 referrer.
			idx, err := remote.Referrers(dig, remote.WithFilter("artifactType", f.MediaType()))
			if err != nil {
				t.Fatal(err)
			}
			im, _ := idx.IndexManifest()
			if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != a.Referrer.DigestStr() {
				t.Fatalf("referrers = %+v, want the one manifest %s", im.Manifests, a.Referrer)
			}
			rimg, err := remote.Image(a.Referrer)
			if err != nil {
				t.Fatal(err)
			}
			rm, _ := rimg.Manifest()
			if rm.ArtifactType != f.MediaType() || string(rm.Config.MediaType) != f.MediaType() || rm.Config.Digest.String() != emptyJSONDigest ||
				len(rm.Layers) != 1 || rm.Layers[0].Digest != a.Blob || string(rm.Layers[0].MediaType) != f.MediaType() ||
				rm.Subject == nil || rm.Subject.Digest.String() != dig.DigestStr() {
				t.Errorf("referrer manifest = %+v", rm)
			}

			// cosign's tag scheme.
			h, _ := v1.NewHash(dig.DigestStr())
			tag := reg + "/team/app:sha256-" + h.Hex + ".sbom"
			if a.Tag.String() != tag {
				t.Errorf("tag = %s, want %s", a.Tag, tag)
			}
			tr, _ := name.ParseReference(tag)
			timg, err := remote.Image(tr)
			if err != nil {
				t.Fatal(err)
			}
			tm, _ := timg.Manifest()
			if tm.MediaType != types.OCIManifestSchema1 || tm.Config.MediaType != types.OCIConfigJSON ||
				len(tm.Layers) != 1 || tm.Layers[0].Digest != a.Blob || string(tm.Layers[0].MediaType) != f.CosignMediaType() {
				t.Errorf("cosign tag manifest = %+v", tm)
			}

			// Read back, preferring the referrer; then through the tag
			// alone (an image attached by cosign only).
			got2, err := fetch(dig)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got2.Where, "referrer ") || !bytes.Equal(got2.Data, res.Document) {
				t.Errorf("read back from %s, same document: %t", got2.Where, bytes.Equal(got2.Data, res.Document))
			}
			if err := remote.Delete(a.Referrer); err != nil {
				t.Fatal(err)
			}
			got3, err := fetch(dig)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got3.Where, "tag ") || !bytes.Equal(got3.Data, res.Document) {
				t.Errorf("read back after deleting the referrer from %s, same document: %t", got3.Where, bytes.Equal(got3.Data, res.Document))
			}
		})
	}
}

func TestMultiArch(t *testing.T) {
	reg := testregistry.Start(t)
	amd := imageOf(t, "amd64", baseAnnotations, baseLayer(t), appLayer(t))
	arm := imageOf(t, "arm64", nil, baseLayer(t))
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref, _ := name.ParseReference(reg + "/team/multi:v1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	opts := append([]Option{WithTempDir(t.TempDir()), WithCacheDir(t.TempDir())}, fixed...)
	res, err := Generate(context.Background(), Request{Reference: ref, Format: CycloneDX, Attach: true}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Children) != 2 {
		t.Fatalf("children = %d, want 2", len(res.Children))
	}
	validate(t, CycloneDX, res.Document)
	doc, err := inventory.Decode(res.Document)
	if err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	if !strings.Contains(doc.Subject, strings.Replace(idxDigest.String(), ":", "%3A", 1)) {
		t.Errorf("index SBOM subject = %s, want the index digest %s", doc.Subject, idxDigest)
	}
	for i, c := range res.Children {
		validate(t, CycloneDX, c.Document)
		d, _ := c.Subject.Digest, 0
		found := false
		for _, p := range doc.Components {
			found = found || strings.Contains(p.PURL, d.Hex)
		}
		if !found {
			t.Errorf("index SBOM does not name child %d (%s)", i, d)
		}
		// Each platform SBOM hangs off its own image.
		got, err := fetch(c.Subject.Repository.Digest(d.String()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, c.Document) {
			t.Errorf("child %d: attached SBOM differs", i)
		}
		cd, _ := inventory.Decode(c.Document)
		if !strings.Contains(cd.Subject, "arch="+c.Subject.Platform.Architecture) {
			t.Errorf("child %d subject %s lacks its arch", i, cd.Subject)
		}
	}
	if !strings.Contains(string(res.Document), res.Children[0].Attachment.Blob.String()) {
		t.Error("index SBOM does not point at the platform SBOMs")
	}
	got, err := fetch(ref.Context().Digest(idxDigest.String()))
	if err != nil || !bytes.Equal(got.Data, res.Document) {
		t.Errorf("index SBOM not attached to the index: %v", err)
	}
}
