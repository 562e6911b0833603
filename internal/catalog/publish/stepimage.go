package publish

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// StepBinDir is where a step's binary lives in its image; the task YAMLs
// run command: ["/usr/local/bin/<step>"].
const StepBinDir = "/usr/local/bin"

// caBundle is the system CA bundle copied into every step image, so steps
// can reach registries and Git servers over TLS.
var caBundle = "/etc/ssl/certs/ca-certificates.crt"

// scratchDirs are the world-writable directories every step image has, as
// any root filesystem does: the steps (and the libraries they use, buildah
// and syft among them) write temporary files there.
var scratchDirs = []string{"/tmp", "/var/tmp"}

// libDirs are searched, in order, for a binary's shared libraries.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// StepImage builds a step image FROM scratch: the binary at
// /usr/local/bin/<step>, the ELF interpreter and shared libraries it links
// against (the step binaries are built with cgo, for buildah and sqlite),
// the CA bundle, and empty /tmp and /var/tmp. Nothing else: the build step
// carries its containers configuration in its binary, and needs no helper
// binary, so the image runs with nothing from the host. It is
// reproducible: fixed timestamps and ownership, files in sorted order, so
// the same binary gives the same digest.
func StepImage(binary, step string, created time.Time) (v1.Image, error) {
	return BinaryImage(binary, path.Join(StepBinDir, step), "step-"+step, created)
}

// BinaryImage is StepImage with the binary at exe, an absolute path in the
// image, and the image titled title: the cluster test packs Tekton's
// binaries with it at the /ko-app/<name> paths Tekton hard-codes.
func BinaryImage(binary, exe, title string, created time.Time) (v1.Image, error) {
	files := map[string]string{exe: binary}
	deps, err := elfDeps(binary)
	if err != nil {
		return nil, err
	}
	for _, d := range deps {
		files[d] = d
	}
	if _, err := os.Stat(caBundle); err == nil {
		files["/etc/ssl/certs/ca-certificates.crt"] = caBundle
	}
	layerBytes, err := tarFiles(files, exe)
	if err != nil {
		return nil, err
	}
	// Compress once: go-containerregistry would otherwise gzip the layer
	// again for its digest and for every upload (most of publish's time).
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(layerBytes); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	layer, err := newStaticLayer(layerBytes, gz.Bytes())
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: created.UTC()}
	cf.Config.Entrypoint = []string{exe}
	cf.Config.Env = []string{"PATH=" + path.Dir(exe) + ":/usr/bin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": title}
	return mutate.ConfigFile(img, cf)
}

// elfDeps returns the interpreter and every shared library (transitively)
// a dynamically linked binary needs, as absolute paths on this machine. A
// static binary has none.
func elfDeps(binary string) ([]string, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("%s is not an ELF executable: %w", binary, err)
	}
	defer f.Close()
	var out []string
	seen := map[string]bool{}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return nil, err
		}
		interp := string(bytes.TrimRight(b, "\x00"))
		out = append(out, interp)
		seen[interp] = true
	}
	queue, err := f.ImportedLibraries()
	if err != nil {
		return nil, nil // static
	}
	for len(queue) > 0 {
		lib := queue[0]
		queue = queue[1:]
		p, err := findLib(lib)
		if err != nil {
			return nil, fmt.Errorf("%s needs %s: %w", binary, lib, err)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		lf, err := elf.Open(p)
		if err != nil {
			return nil, err
		}
		more, _ := lf.ImportedLibraries()
		lf.Close()
		queue = append(queue, more...)
	}
	sort.Strings(out)
	return out, nil
}

func findLib(lib string) (string, error) {
	if filepath.IsAbs(lib) {
		return lib, nil
	}
	for _, d := range libDirs {
		p := filepath.Join(d, lib)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in %v", libDirs)
}

// tarFiles writes the files (image path → host path, symlinks followed)
// with their parent directories, sorted, with zero timestamps and root
// ownership; exe is made executable.
func tarFiles(files map[string]string, exe string) ([]byte, error) {
	var names []string
	dirs := map[string]bool{}
	for n := range files {
		names = append(names, n)
		for d := path.Dir(n); d != "/" && d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for _, n := range scratchDirs {
		for d := n; d != "/" && d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range dirList {
		mode := int64(0o755)
		if slices.Contains(scratchDirs, d) {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: d[1:] + "/", Typeflag: tar.TypeDir, Mode: mode, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		b, err := os.ReadFile(files[n])
		if err != nil {
			return nil, err
		}
		mode := int64(0o644)
		if n == exe || path.Ext(n) == "" || bytes.HasPrefix(b, []byte("\x7fELF")) {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: n[1:], Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(b)), ModTime: epoch}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// staticLayer is a layer whose compressed and uncompressed bytes are both
// at hand, so neither digest needs a second pass through gzip.
type staticLayer struct {
	compressed   []byte
	digest, diff v1.Hash
}

func newStaticLayer(uncompressed, compressed []byte) (*staticLayer, error) {
	d, _, err := v1.SHA256(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	diff, _, err := v1.SHA256(bytes.NewReader(uncompressed))
	if err != nil {
		return nil, err
	}
	return &staticLayer{compressed: compressed, digest: d, diff: diff}, nil
}

func (l *staticLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *staticLayer) DiffID() (v1.Hash, error) { return l.diff, nil }
func (l *staticLayer) Size() (int64, error)     { return int64(len(l.compressed)), nil }
func (l *staticLayer) MediaType() (types.MediaType, error) {
	return types.OCILayer, nil
}
func (l *staticLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}
func (l *staticLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.compressed))
}
