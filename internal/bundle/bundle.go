// Package bundle writes and reads Tekton bundles: OCI images holding Tekton
// resources, one per layer, as `tkn bundle push` makes them and as Tekton's
// bundles resolver reads them.
//
// The layout follows tektoncd/cli's pkg/bundle byte for byte, so a bundle
// pushed here has the digest tkn would give the same input (with the same
// created time, annotations and labels):
//
//   - an image built on go-containerregistry's empty.Image (Docker schema 2
//     manifest and config media types), created time 1970-01-01T00:00:00Z
//     unless set;
//   - each resource is the JSON form of one YAML document, in a tar holding
//     one regular file named after the resource (mode 0600, zero
//     timestamps), gzip-compressed as a Docker layer;
//   - each layer carries the annotations dev.tekton.image.apiVersion (the
//     version part only, e.g. "v1", as tkn writes it), dev.tekton.image.kind
//     (lowercase) and dev.tekton.image.name;
//   - input files are ordered by the SHA-256 of their contents, so the layer
//     order does not depend on the order files were named in;
//   - at most 20 resources (Tekton's resolver refuses more).
//
// On top of that, Push records OCI manifest annotations
// (org.opencontainers.image.source, .revision, .version, .documentation)
// when asked to.
package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/scheme"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/trustline-dev/trustline/internal/sourcedate"
)

// Layer annotations of the Tekton bundle contract.
const (
	AnnotationAPIVersion = "dev.tekton.image.apiVersion"
	AnnotationKind       = "dev.tekton.image.kind"
	AnnotationName       = "dev.tekton.image.name"
)

// OCI manifest annotations Push can record (image-spec annotations.md).
const (
	AnnotationSource        = "org.opencontainers.image.source"
	AnnotationRevision      = "org.opencontainers.image.revision"
	AnnotationVersion       = "org.opencontainers.image.version"
	AnnotationDocumentation = "org.opencontainers.image.documentation"
	AnnotationTitle         = "org.opencontainers.image.title"
	AnnotationDescription   = "org.opencontainers.image.description"
)

// MaxResources is the most resources a bundle may hold: Tekton's bundles
// resolver rejects a bundle with more layers.
const MaxResources = 20

// maxResourceBytes bounds one resource read from a layer: Kubernetes
// objects are limited to about 1.5 MB by etcd, so anything far larger is
// not a Tekton resource and is refused before it is read into memory.
const maxResourceBytes = 4 << 20

// Resource is one Tekton resource in a bundle.
type Resource struct {
	// APIVersion is what the layer annotation says: the version part only
	// ("v1") for bundles tkn or trustline wrote.
	APIVersion string `json:"apiVersion"`
	// Kind is lowercase and singular ("task"), as annotated.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Layer is the digest of the layer holding it.
	Layer string `json:"layer,omitempty"`
	// Raw is the resource as stored (JSON for tkn and trustline bundles).
	Raw []byte `json:"-"`
}

// Build makes a bundle image from the contents of YAML or JSON files, each
// holding one or more Tekton resources, exactly as tkn bundle push does.
func Build(contents [][]byte, opts ...Option) (v1.Image, []Resource, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	// Decode everything first so that a bad file fails before any image
	// exists, and the count limit applies to resources, not files.
	type doc struct {
		gvkVersion, kind, name string
		raw                    []byte
	}
	ordered := make([][]byte, len(contents))
	copy(ordered, contents)
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := sha256.Sum256(ordered[i]), sha256.Sum256(ordered[j])
		return bytes.Compare(a[:], b[:]) < 0
	})
	var docs []doc
	for i, c := range ordered {
		err := decodeObjects(c, func(version, kind, name string, raw []byte) error {
			docs = append(docs, doc{version, kind, name, raw})
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", o.sourceName(contents, c, i), err)
		}
	}
	if len(docs) == 0 {
		return nil, nil, errors.New("no Tekton resource to bundle")
	}
	if len(docs) > MaxResources {
		return nil, nil, fmt.Errorf("%d resources: a Tekton bundle holds at most %d", len(docs), MaxResources)
	}
	seen := map[string]bool{}
	for _, d := range docs {
		key := strings.ToLower(d.kind) + "/" + d.name
		if seen[key] {
			return nil, nil, fmt.Errorf("%s %q appears twice: the resolver could only ever return the first", d.kind, d.name)
		}
		seen[key] = true
	}

	img := empty.Image
	if len(o.annotations) > 0 {
		img = mutate.Annotations(img, o.annotations).(v1.Image)
	}
	img, err = mutate.Config(img, v1.Config{Labels: o.labels})
	if err != nil {
		return nil, nil, fmt.Errorf("setting labels: %w", err)
	}
	var out []Resource
	for _, d := range docs {
		layer, err := tarLayer(d.name, d.raw)
		if err != nil {
			return nil, nil, err
		}
		kind := strings.ToLower(d.kind)
		img, err = mutate.Append(img, mutate.Addendum{
			Layer: layer,
			Annotations: map[string]string{
				AnnotationAPIVersion: d.gvkVersion,
				AnnotationKind:       kind,
				AnnotationName:       d.name,
			},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("adding %s %q: %w", d.kind, d.name, err)
		}
		ld, err := layer.Digest()
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(o.progress, "\t- Added %s: %s to image\n", d.kind, d.name)
		out = append(out, Resource{APIVersion: d.gvkVersion, Kind: kind, Name: d.name, Layer: ld.String(), Raw: d.raw})
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: o.created})
	if err != nil {
		return nil, nil, fmt.Errorf("setting the created time: %w", err)
	}
	return img, out, nil
}

func (o *options) sourceName(all [][]byte, c []byte, i int) string {
	for j, a := range all {
		if bytes.Equal(a, c) && j < len(o.names) {
			return o.names[j]
		}
	}
	return fmt.Sprintf("input %d", i+1)
}

// tarLayer wraps one resource the way tkn does: a tar with a single 0600
// regular file named after the resource and no timestamps.
func tarLayer(name string, raw []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	if err := w.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(raw)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	// LayerFromOpener compresses as tkn's LayerFromReader does (gzip,
	// BestSpeed, Docker layer media type) without leaving a temp file.
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

// decodeObjects splits YAML or JSON into documents and decodes each with
// Tekton's scheme, as tkn does; raw is the document's JSON form.
func decodeObjects(content []byte, handle func(version, kind, name string, raw []byte) error) error {
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(content), 4096)
	codec := tektonCodec()
	for n := 1; ; n++ {
		var spec runtime.RawExtension
		if err := dec.Decode(&spec); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("document %d is not YAML or JSON: %w", n, err)
		}
		raw := bytes.TrimSpace(spec.Raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		obj, gvk, err := codec.Decode(raw, nil, nil)
		if err != nil {
			return fmt.Errorf("document %d is not a Tekton resource: %w", n, err)
		}
		m, ok := obj.(metav1.Object)
		if !ok || gvk == nil {
			return fmt.Errorf("document %d is not a Kubernetes object with metadata", n)
		}
		if m.GetName() == "" {
			return fmt.Errorf("document %d (%s): metadata.name is empty", n, gvk.Kind)
		}
		if err := handle(gvk.Version, gvk.Kind, m.GetName(), raw); err != nil {
			return err
		}
	}
}

// tektonCodec decodes with Tekton's scheme; building the codec factory is
// costly, so it is built once.
var tektonCodec = sync.OnceValue(func() runtime.Decoder {
	return serializer.NewCodecFactory(scheme.Scheme).UniversalDeserializer()
})

type options struct {
	annotations map[string]string
	labels      map[string]string
	created     time.Time
	progress    io.Writer
	names       []string
}

// Option configures Build and Push.
type Option func(*options) error

func makeOptions(opts []Option) (*options, error) {
	o := &options{created: time.Unix(0, 0), progress: io.Discard}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithAnnotations adds OCI manifest annotations (default: none, as tkn).
func WithAnnotations(a map[string]string) Option {
	return func(o *options) error {
		if o.annotations == nil {
			o.annotations = map[string]string{}
		}
		for k, v := range a {
			if k == "" {
				return errors.New("annotation with an empty key")
			}
			if v != "" {
				o.annotations[k] = v
			}
		}
		return nil
	}
}

// WithSource records org.opencontainers.image.source and .revision: the
// repository and commit the bundle was built from.
func WithSource(url, revision string) Option {
	return WithAnnotations(map[string]string{AnnotationSource: url, AnnotationRevision: revision})
}

// WithVersion records org.opencontainers.image.version.
func WithVersion(v string) Option {
	return WithAnnotations(map[string]string{AnnotationVersion: v})
}

// WithDocumentation records org.opencontainers.image.documentation.
func WithDocumentation(url string) Option {
	return WithAnnotations(map[string]string{AnnotationDocumentation: url})
}

// WithLabels sets config labels (tkn's --label; default: none).
func WithLabels(l map[string]string) Option {
	return func(o *options) error { o.labels = l; return nil }
}

// WithCreated sets the config's created time (default 1970-01-01T00:00:00Z,
// tkn's default, so that the same input gives the same digest).
func WithCreated(t time.Time) Option {
	return func(o *options) error { o.created = t.UTC(); return nil }
}

// Created is the created time tkn bundle push gives a bundle: ctime
// (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or RFC 3339) when given, else
// sourceDateEpoch (a SOURCE_DATE_EPOCH value) when given, else
// 1970-01-01. The caller reads the environment.
func Created(ctime, sourceDateEpoch string) (time.Time, error) {
	if ctime == "" {
		if sourceDateEpoch == "" {
			return time.Unix(0, 0), nil
		}
		t, err := sourcedate.Parse(sourceDateEpoch)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", sourceDateEpoch)
		}
		return t, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, ctime); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--ctime %q: use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or RFC 3339", ctime)
}

// WithProgress receives one line per resource added (default: discarded).
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w != nil {
			o.progress = w
		}
		return nil
	}
}

// withNames names the inputs in errors.
func withNames(names []string) Option {
	return func(o *options) error { o.names = names; return nil }
}
