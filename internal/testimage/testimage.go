// Package testimage crafts the layers and images tests push to a test
// registry: tar entries (files, links, devices) in a gzip layer, and OCI
// linux images of such layers with labels and annotations.
package testimage

import (
	"archive/tar"
	"bytes"
	"io"
	"maps"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of a layer: a regular file unless Type says otherwise
// (a character or block device gets /dev/null's numbers, 1:3).
type File struct {
	Name     string
	Body     string
	Type     byte
	Linkname string
	Mode     int64
}

// Layer builds a gzip layer from files.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	b := Tar(t, files...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Tar is the uncompressed tar archive of files, for tests that build a
// layer of some other media type.
func Tar(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Typeflag: f.Type, Linkname: f.Linkname, Mode: f.Mode, ModTime: time.Unix(0, 0)}
		switch h.Typeflag {
		case 0:
			h.Typeflag = tar.TypeReg
		case tar.TypeChar, tar.TypeBlock:
			h.Devmajor, h.Devminor = 1, 3 // /dev/null's: a real device, as a hostile layer would name
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Image makes an OCI linux/arch image of layers with manifest annotations.
func Image(t testing.TB, arch string, annotations map[string]string, layers ...v1.Layer) v1.Image {
	t.Helper()
	return LabeledImage(t, arch, nil, annotations, layers...)
}

// LabeledImage is Image with config labels (none when labels is nil).
func LabeledImage(t testing.TB, arch string, labels, annotations map[string]string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img = EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", arch
		if labels != nil {
			cf.Config.Labels = labels
		}
	})
	if annotations != nil {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	return img
}

// Files are regular files, one for each name in bodies, in name order.
func Files(bodies map[string]string) []File {
	var out []File
	for _, n := range slices.Sorted(maps.Keys(bodies)) {
		out = append(out, File{Name: n, Body: bodies[n]})
	}
	return out
}

// EditConfig returns img with its config file changed by edit (on a copy:
// img itself is left as it was).
func EditConfig(t testing.TB, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
