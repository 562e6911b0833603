package ecbuiltins

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown/builtins"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/jsondoc"
	"github.com/trustline-dev/trustline/internal/remoteopt"
)

// BundleManifestsLabel is the OLM bundle label naming the directory of an
// operator bundle's manifests; Conforma puts the files there in
// input.image.files.
const BundleManifestsLabel = "operators.operatorframework.io.bundle.manifests.v1"

// structured are the extensions Conforma reads as YAML or JSON.
var structured = []string{".yaml", ".yml", ".json"}

func isStructured(name string) bool {
	ext := path.Ext(name)
	for _, e := range structured {
		if strings.EqualFold(ext, e) {
			return true
		}
	}
	return false
}

// pathsOperand reads the paths argument of blob_files and image_files.
func pathsOperand(t *ast.Term) ([]string, error) {
	arr, err := builtins.ArrayOperand(t.Value, 2)
	if err != nil {
		return nil, err
	}
	var out []string
	err = arr.Iter(func(p *ast.Term) error {
		s, ok := p.Value.(ast.String)
		if !ok {
			return fmt.Errorf("a path must be a string, not %s", ast.ValueName(p.Value))
		}
		out = append(out, string(s))
		return nil
	})
	return out, err
}

// refAndPaths reads the operands of the two file built-ins: a reference
// and an array of paths.
func refAndPaths(a, b *ast.Term) (string, []string, error) {
	ref, err := refOperand(a)
	if err != nil {
		return "", nil, err
	}
	paths, err := pathsOperand(b)
	return ref, paths, err
}

// blobFiles reads the files named exactly by paths out of a tar blob. A
// file that is not YAML or JSON, or is over the size limit, is left out.
func (s *Set) blobFiles(bctx rego.BuiltinContext, a, b *ast.Term) (*ast.Term, error) {
	ref, paths, err := refAndPaths(a, b)
	if err != nil {
		return nil, err
	}
	return cached(bctx.Context, OCIBlobFiles+"|"+ref+"|"+b.String(), func() (*ast.Term, error) {
		blob, err := s.blobBytes(bctx.Context, ref, false)
		if err != nil {
			return nil, refError(ref, err)
		}
		want := map[string]bool{}
		for _, p := range paths {
			want[p] = true
		}
		files, err := s.extract(bytes.NewReader(blob), func(h *tar.Header) bool { return want[h.Name] })
		if err != nil {
			return nil, refError(ref, err)
		}
		return toTerm(files)
	})
}

// imageFiles reads the YAML and JSON files directly inside any of paths
// in the image's flattened file system. The reference must be a digest.
func (s *Set) imageFiles(bctx rego.BuiltinContext, a, b *ast.Term) (*ast.Term, error) {
	ref, paths, err := refAndPaths(a, b)
	if err != nil {
		return nil, err
	}
	return s.registryCall(bctx.Context, OCIImageFiles+"|"+ref+"|"+b.String(), ref, func(ctx context.Context) (any, error) {
		d, err := remoteopt.ParseDigest(ref, s.o.insecure)
		if err != nil {
			return nil, err
		}
		img, err := remote.Image(d, s.remoteOptions(ctx)...)
		if err != nil {
			return nil, err
		}
		return s.filesIn(img, paths)
	})
}

// BundleFiles returns what Conforma puts in input.image.files: the YAML
// and JSON files of an operator bundle, in the directory its
// BundleManifestsLabel names. An image without the label has none (nil).
func (s *Set) BundleFiles(ctx context.Context, img v1.Image) (map[string]any, error) {
	cfg, err := remoteopt.ConfigFile(img)
	if err != nil {
		return nil, err
	}
	dir, ok := cfg.Config.Labels[BundleManifestsLabel]
	if !ok {
		return nil, nil
	}
	return s.filesIn(img, []string{dir})
}

// filesIn extracts, from the flattened image, the structured files whose
// directory is one of dirs (compared case-insensitively, as Conforma
// does).
func (s *Set) filesIn(img v1.Image, dirs []string) (map[string]any, error) {
	if len(dirs) == 0 {
		return map[string]any{}, nil
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	// The layers are decompressed as they stream: bound the total so a
	// layer that inflates without end stops.
	r := &limitedReader{r: rc, n: s.o.maxImageSize}
	return s.extract(r, func(h *tar.Header) bool {
		if !isStructured(h.Name) {
			return false
		}
		for _, d := range dirs {
			if strings.EqualFold(path.Dir(h.Name), path.Clean(d)) {
				return true
			}
		}
		return false
	})
}

// extract reads the regular files of a tar stream that match, converting
// YAML to JSON. A file that does not parse, or is larger than the blob
// limit, is skipped as Conforma skips it; a broken stream is an error.
func (s *Set) extract(r io.Reader, match func(*tar.Header) bool) (map[string]any, error) {
	files := map[string]any{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !match(h) || h.Size > s.o.maxBlobSize {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, s.o.maxBlobSize))
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			continue
		}
		var v any
		if err := jsondoc.Exact(js, &v); err != nil {
			continue
		}
		files[h.Name] = v
	}
}

// limitedReader fails, instead of ending quietly, past n bytes.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("image is larger than the uncompressed size limit")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
