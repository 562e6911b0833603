package sbom

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/sbom/layerfs"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
)

// viaProxy names the same image through the proxy's host.
func viaProxy(t *testing.T, dig name.Digest, host string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(host + "/" + dig.Context().RepositoryStr() + "@" + dig.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func layerDigest(t *testing.T, l v1.Layer) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// regzip decompresses a gzip blob, edits it and compresses it again: what
// a proxy would do to change a package inside a layer.
func regzip(edit func([]byte) []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return b
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return b
		}
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(edit(plain))
		zw.Close()
		return out.Bytes()
	}
}

// A layer changed on the way (a package renamed inside the dpkg database,
// recompressed, or a byte flipped so gzip's CRC fails, or cut short) is
// refused with an error naming the layer, never turned into an SBOM.
func TestTamperedLayerRefused(t *testing.T) {
	reg := testregistry.Start(t)
	base := baseLayer(t)
	dig := testregistry.Push(t, reg+"/victim/app:1", imageOf(t, "amd64", nil, base))
	blob := "/blobs/" + layerDigest(t, base)
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"package renamed, recompressed", regzip(func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte("Package: libc6"), []byte("Package: evilc6"))
		}), "does not match expected size"},
		{"package renamed, recompressed, padded to the size", func(b []byte) []byte {
			out := regzip(func(b []byte) []byte {
				return bytes.ReplaceAll(b, []byte("Package: libc6"), []byte("Package: evilc6"))
			})(b)
			return append(out, make([]byte, len(b)-len(out))...)[:len(b)]
		}, "the blob's bytes hash to"},
		{"gzip CRC broken", func(b []byte) []byte { b[len(b)-6] ^= 0xff; return b }, "the blob's bytes hash to"},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "does not match expected size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := faulty.Start(t, reg, &faulty.Rule{Method: "GET", Path: blob, Fault: faulty.Rewrite(tc.edit)})
			cache := t.TempDir()
			_, err := Generate(context.Background(), Request{Reference: viaProxy(t, dig, p.Host), Format: CycloneDX}, WithCacheDir(cache))
			if !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("err = %v, want ErrDigestMismatch", err)
			}
			if !strings.Contains(err.Error(), "layer 0 (sha256:") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name the layer and %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(cache); len(ents) != 0 {
				t.Errorf("a refused layer reached the cache: %v", ents)
			}
		})
	}
}

// withDiffIDs pushes img with a config that claims diffIDs for its layers.
func withDiffIDs(t *testing.T, img v1.Image, diffIDs ...v1.Hash) v1.Image {
	t.Helper()
	return testimage.EditConfig(t, img, func(cf *v1.ConfigFile) { cf.RootFS.DiffIDs = diffIDs })
}

// An image whose config claims the victim's diff_id for its own (one
// package) layer is refused, and neither poisons the shared cache for the
// victim nor borrows the victim's entry.
func TestCachePoisoningRefused(t *testing.T) {
	reg := testregistry.Start(t)
	ctx := context.Background()
	victimLayer := baseLayer(t)
	victim := testregistry.Push(t, reg+"/victim/app:1", imageOf(t, "amd64", nil, victimLayer))
	victimDiff, err := victimLayer.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	evil := testimage.Layer(t, []testimage.File{{Name: "var/lib/dpkg/status", Body: "Package: evilpk\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n"}}...)
	attacker := testregistry.Push(t, reg+"/attacker/app:1", withDiffIDs(t, imageOf(t, "amd64", nil, evil), victimDiff))

	clean, err := Generate(ctx, Request{Reference: victim, Format: CycloneDX})
	if err != nil {
		t.Fatal(err)
	}
	want := len(clean.Catalog.Packages())
	if want < 2 {
		t.Fatalf("victim has %d packages; the fixture is wrong", want)
	}

	// The attacker goes first, into the shared cache.
	cache := t.TempDir()
	_, err = Generate(ctx, Request{Reference: attacker, Format: CycloneDX}, WithCacheDir(cache))
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "diff_id") {
		t.Fatalf("attacker image: err = %v, want a diff_id mismatch", err)
	}
	got, err := Generate(ctx, Request{Reference: victim, Format: CycloneDX}, WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Catalog.Packages()); n != want {
		t.Errorf("victim after the attacker: %d packages, want %d", n, want)
	}

	// The victim's entry is in the cache now: the attacker still does
	// not get it.
	if _, err = Generate(ctx, Request{Reference: attacker, Format: CycloneDX}, WithCacheDir(cache)); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("attacker image with the victim cached: err = %v, want ErrDigestMismatch", err)
	}
}

// An uncompressed layer (media type tar) is checked too: its digest and
// diff_id are the same bytes.
func TestUncompressedLayerVerified(t *testing.T) {
	b := testimage.Tar(t, []testimage.File{{Name: "etc/hostname", Body: "x\n"}}...)
	intact := static.NewLayer(b, types.OCIUncompressedLayer)
	vl, err := openVerified(intact)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := layerfs.Extract(vl, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := vl.Verify(); err != nil {
		t.Fatalf("an intact uncompressed layer: %v", err)
	}
	vl.Close()

	// The same digests over other bytes of the same length.
	forged := bytes.Replace(b, []byte("x\n"), []byte("y\n"), 1)
	vl, err = openVerified(lying{static.NewLayer(forged, types.OCIUncompressedLayer), intact})
	if err != nil {
		t.Fatal(err)
	}
	layerfs.Extract(vl, t.TempDir())
	if err := vl.Verify(); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("a forged uncompressed layer: err = %v, want ErrDigestMismatch", err)
	}
	vl.Close()
}

// lying serves one layer's bytes under another layer's digests.
type lying struct {
	v1.Layer
	claims v1.Layer
}

func (l lying) Digest() (v1.Hash, error) { return l.claims.Digest() }
func (l lying) DiffID() (v1.Hash, error) { return l.claims.DiffID() }
