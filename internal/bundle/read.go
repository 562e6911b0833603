package bundle

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"
)

// Read returns the resources of a bundle image, checking it against the
// Tekton bundle contract as the resolver does (layer annotations, at most
// 20 layers, lowercase singular kinds). Layers are untrusted: sizes are
// bounded and each must hold one resource.
func Read(img v1.Image) ([]Resource, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	if len(m.Layers) == 0 {
		return nil, errors.New("not a Tekton bundle: no layers")
	}
	if len(m.Layers) > MaxResources {
		return nil, fmt.Errorf("not a Tekton bundle: %d layers, at most %d allowed", len(m.Layers), MaxResources)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading layers: %w", err)
	}
	if len(layers) != len(m.Layers) {
		return nil, fmt.Errorf("manifest lists %d layers but the image has %d", len(m.Layers), len(layers))
	}
	out := make([]Resource, 0, len(m.Layers))
	seen := map[string]bool{}
	for i, desc := range m.Layers {
		r := Resource{
			APIVersion: desc.Annotations[AnnotationAPIVersion],
			Kind:       desc.Annotations[AnnotationKind],
			Name:       desc.Annotations[AnnotationName],
			Layer:      desc.Digest.String(),
		}
		for k, v := range map[string]string{AnnotationAPIVersion: r.APIVersion, AnnotationKind: r.Kind, AnnotationName: r.Name} {
			if v == "" {
				return nil, fmt.Errorf("layer %d (%s): missing annotation %s", i, desc.Digest, k)
			}
		}
		if strings.TrimSuffix(strings.ToLower(r.Kind), "s") != r.Kind {
			return nil, fmt.Errorf("layer %d (%s): kind %q must be lowercase and singular", i, desc.Digest, r.Kind)
		}
		if seen[r.Kind+"/"+r.Name] {
			return nil, fmt.Errorf("layer %d (%s): %s %q appears twice", i, desc.Digest, r.Kind, r.Name)
		}
		seen[r.Kind+"/"+r.Name] = true
		rc, err := layers[i].Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, desc.Digest, err)
		}
		r.Raw, err = ReadLayer(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s, %s %q): %w", i, desc.Digest, r.Kind, r.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ReadLayer reads the resource in one uncompressed bundle layer: a tar
// whose first entry is a regular file (what tkn writes), or, as Tekton's
// resolver also accepts, the raw resource itself. The result is bounded in
// size and must be JSON or YAML.
func ReadLayer(r io.Reader) ([]byte, error) {
	// Read at most the bound plus one byte of the whole layer, so a huge or
	// endless layer is refused without being held in memory.
	data, err := io.ReadAll(io.LimitReader(r, maxResourceBytes+tarOverhead+1))
	if err != nil {
		return nil, fmt.Errorf("reading layer: %w", err)
	}
	if len(data) > maxResourceBytes+tarOverhead {
		return nil, fmt.Errorf("layer larger than %d bytes: not a Tekton resource", maxResourceBytes)
	}
	content, err := firstTarFile(data)
	if err != nil {
		if !looksLikeDocument(data) {
			return nil, err
		}
		content = data // a raw layer
	}
	content = bytes.TrimSpace(content)
	if len(content) == 0 {
		return nil, errors.New("empty resource")
	}
	var probe map[string]any
	if err := yaml.Unmarshal(content, &probe); err != nil {
		return nil, fmt.Errorf("resource is not JSON or YAML: %w", err)
	}
	if probe == nil {
		return nil, errors.New("resource is not a JSON or YAML object")
	}
	return content, nil
}

// tarOverhead leaves room for tar headers and padding around the file.
const tarOverhead = 64 << 10

func firstTarFile(data []byte) ([]byte, error) {
	tr := tar.NewReader(bytes.NewReader(data))
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("layer is not a tarball: %w", err)
	}
	if h.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("tar entry %q is not a regular file", h.Name)
	}
	if h.Size < 0 || h.Size > maxResourceBytes {
		return nil, fmt.Errorf("tar entry %q of %d bytes: not a Tekton resource", h.Name, h.Size)
	}
	b, err := io.ReadAll(io.LimitReader(tr, h.Size))
	if err != nil {
		return nil, fmt.Errorf("tar entry %q: %w", h.Name, err)
	}
	if int64(len(b)) != h.Size {
		return nil, fmt.Errorf("tar entry %q is truncated", h.Name)
	}
	return b, nil
}

func looksLikeDocument(b []byte) bool {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || bytes.IndexByte(t, 0) >= 0 {
		return false
	}
	return t[0] == '{' || bytes.HasPrefix(t, []byte("apiVersion:")) || bytes.HasPrefix(t, []byte("kind:")) || bytes.HasPrefix(t, []byte("---"))
}

// validName is a Kubernetes object name (DNS subdomain); anything else
// could escape the directory Pull writes into.
var validName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// FileName is where Pull writes a resource: <kind>-<name>.yaml.
func (r Resource) FileName() (string, error) {
	if !validName.MatchString(r.Name) || strings.Contains(r.Name, "..") {
		return "", fmt.Errorf("resource name %q is not a Kubernetes name", r.Name)
	}
	if !regexp.MustCompile(`^[a-z]{1,63}$`).MatchString(r.Kind) {
		return "", fmt.Errorf("resource kind %q is not a Tekton kind", r.Kind)
	}
	return r.Kind + "-" + r.Name + ".yaml", nil
}

// YAML returns the resource as YAML (it is stored as JSON).
func (r Resource) YAML() ([]byte, error) {
	return yaml.JSONToYAML(r.Raw)
}

// Object is the resource as a JSON value: Raw itself when it is JSON (as
// tkn and trustline store it), else Raw as a JSON string, so that a
// listing of any bundle is valid JSON.
func (r Resource) Object() json.RawMessage {
	if json.Valid(r.Raw) {
		return json.RawMessage(r.Raw)
	}
	b, _ := json.Marshal(string(r.Raw))
	return b
}

// WriteDir writes resources into dir as <kind>-<name>.yaml. Every file
// name and body is prepared first, so bad input writes nothing.
func WriteDir(res []Resource, dir string) ([]string, error) {
	type file struct {
		path string
		body []byte
	}
	var files []file
	for _, r := range res {
		fn, err := r.FileName()
		if err != nil {
			return nil, err
		}
		body, err := r.YAML()
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", r.Kind, r.Name, err)
		}
		files = append(files, file{filepath.Join(dir, fn), body})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if err := os.WriteFile(f.path, f.body, 0o644); err != nil {
			return out, err
		}
		out = append(out, f.path)
	}
	return out, nil
}
