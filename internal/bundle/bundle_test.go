package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonbundle "github.com/tektoncd/pipeline/pkg/resolution/resolver/bundle"
	"sigs.k8s.io/yaml"

	"github.com/trustline-dev/trustline/internal/testregistry"
)

var testFiles = []string{"testdata/task-a.yaml", "testdata/pipeline-b.yaml"}

func readAll(t *testing.T, files ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Tekton's own bundles resolver must find every resource we push, with
// the content we put in.
func TestPushResolvedByTektonResolver(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.Start(t)
	ref, err := name.ParseReference(reg + "/library/task-hello:0.1")
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := Push(ctx, testFiles, ref, nil, WithSource("https://example.com/repo", "abc123"), WithVersion("0.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed.Resources) != 3 {
		t.Fatalf("pushed %d resources, want 3", len(pushed.Resources))
	}
	for _, tc := range []struct{ kind, name string }{{"task", "hello"}, {"pipeline", "greet"}, {"stepaction", "shout"}} {
		got, err := tektonbundle.GetEntry(ctx, authn.DefaultKeychain, tektonbundle.RequestOptions{
			Bundle: pushed.Digest.String(), EntryName: tc.name, Kind: tc.kind,
		})
		if err != nil {
			t.Fatalf("Tekton resolver, %s/%s: %v", tc.kind, tc.name, err)
		}
		if got.RefSource().Digest["sha256"] != pushed.Digest.DigestStr()[len("sha256:"):] {
			t.Errorf("%s: resolver saw digest %v, pushed %s", tc.name, got.RefSource().Digest, pushed.Digest)
		}
		if got.Annotations()[tektonbundle.ResolverAnnotationKind] != tc.kind {
			t.Errorf("%s: kind annotation %q", tc.name, got.Annotations()[tektonbundle.ResolverAnnotationKind])
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(got.Data(), &meta); err != nil {
			t.Fatalf("%s: resolved data is not JSON: %v", tc.name, err)
		}
		if meta.Metadata.Name != tc.name || strings.ToLower(meta.Kind) != tc.kind {
			t.Errorf("resolved %s/%s for %s/%s", meta.Kind, meta.Metadata.Name, tc.kind, tc.name)
		}
	}
	// The task decodes into Tekton's type with its params intact.
	got, err := tektonbundle.GetEntry(ctx, authn.DefaultKeychain, tektonbundle.RequestOptions{Bundle: pushed.Digest.String(), EntryName: "hello", Kind: "task"})
	if err != nil {
		t.Fatal(err)
	}
	var task pipelinev1.Task
	if err := json.Unmarshal(got.Data(), &task); err != nil {
		t.Fatal(err)
	}
	if len(task.Spec.Params) != 1 || task.Spec.Params[0].Default.StringVal != "world" {
		t.Errorf("task params after resolution: %+v", task.Spec.Params)
	}
	// Manifest annotations are there.
	img, err := remote.Image(pushed.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations[AnnotationSource] != "https://example.com/repo" || m.Annotations[AnnotationRevision] != "abc123" || m.Annotations[AnnotationVersion] != "0.1.0" {
		t.Errorf("manifest annotations: %v", m.Annotations)
	}
	// A name that is not in the bundle is an error, as the resolver says.
	if _, err := tektonbundle.GetEntry(ctx, authn.DefaultKeychain, tektonbundle.RequestOptions{Bundle: pushed.Digest.String(), EntryName: "nope", Kind: "task"}); err == nil {
		t.Error("resolver found a task that is not there")
	}
}

func TestReproducible(t *testing.T) {
	c := readAll(t, testFiles...)
	img1, _, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	img2, _, err := Build([][]byte{c[1], c[0]})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img1.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("file order changed the digest: %s vs %s", d1, d2)
	}
	img3, _, err := Build(c, WithCreated(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := img3.Digest(); d3 == d1 {
		t.Error("created time does not reach the config")
	}
	cf, err := img1.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("default created time %v, want the epoch as tkn", cf.Created)
	}
}

// tknBuild rebuilds, with go-containerregistry calls alone, what
// tektoncd/cli's BuildTektonBundle produces for JSON documents: the same
// base image, tar header, layer type, annotations and created time. It is
// the independent reference our Build must match digest for digest.
func tknBuild(t *testing.T, docs []struct{ version, kind, name, json string }) v1.Image {
	t.Helper()
	img := mutate.Annotations(empty.Image, map[string]string{}).(v1.Image)
	img, err := mutate.Config(img, v1.Config{Labels: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		var buf bytes.Buffer
		w := tar.NewWriter(&buf)
		if err := w.WriteHeader(&tar.Header{Name: d.name, Mode: 0o600, Size: int64(len(d.json)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(d.json))
		w.Close()
		l, err := tarball.LayerFromReader(&buf) //nolint:staticcheck // what tkn calls
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, Annotations: map[string]string{
			AnnotationAPIVersion: d.version, AnnotationKind: d.kind, AnnotationName: d.name,
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestSameDigestAsTkn(t *testing.T) {
	task := `{"apiVersion":"tekton.dev/v1","kind":"Task","metadata":{"name":"t1"},"spec":{"steps":[{"command":["/x"],"image":"r.example/x@sha256:1111111111111111111111111111111111111111111111111111111111111111","name":"s"}]}}`
	ref := tknBuild(t, []struct{ version, kind, name, json string }{{"v1", "task", "t1", task}})
	// The same task as YAML: tkn stores the JSON form of each document.
	y, err := yaml.JSONToYAML([]byte(task))
	if err != nil {
		t.Fatal(err)
	}
	ours, res, err := Build([][]byte{y})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ref.Digest()
	got, _ := ours.Digest()
	if want != got {
		wm, _ := ref.RawManifest()
		gm, _ := ours.RawManifest()
		t.Fatalf("digest %s, tkn layout gives %s\nours: %s\ntkn:  %s", got, want, gm, wm)
	}
	if string(res[0].Raw) != task {
		t.Errorf("stored %s, want %s", res[0].Raw, task)
	}
	mt, _ := ours.MediaType()
	if mt != types.DockerManifestSchema2 {
		t.Errorf("manifest media type %s", mt)
	}
	// And we read tkn's bundle back.
	got2, err := Read(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(got2) != 1 || got2[0].Name != "t1" || got2[0].Kind != "task" || string(got2[0].Raw) != task {
		t.Errorf("read %+v", got2)
	}
}

// Tekton's resolver accepts raw (untarred) layers; so do we.
func TestReadRawLayer(t *testing.T) {
	body := []byte("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: raw\n")
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer(body, types.OCIUncompressedLayer),
		Annotations: map[string]string{AnnotationAPIVersion: "v1", AnnotationKind: "task", AnnotationName: "raw"},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Read(img)
	if err != nil {
		t.Fatal(err)
	}
	if string(res[0].Raw) != strings.TrimSpace(string(body)) {
		t.Errorf("raw layer read as %q", res[0].Raw)
	}
}

func TestBadBundles(t *testing.T) {
	good := static.NewLayer([]byte(`{"kind":"Task"}`), types.OCIUncompressedLayer)
	cases := map[string]struct {
		ann  map[string]string
		body []byte
		want string
	}{
		"missing kind":  {map[string]string{AnnotationAPIVersion: "v1", AnnotationName: "x"}, nil, "missing annotation dev.tekton.image.kind"},
		"plural kind":   {map[string]string{AnnotationAPIVersion: "v1", AnnotationName: "x", AnnotationKind: "tasks"}, nil, "lowercase and singular"},
		"binary layer":  {map[string]string{AnnotationAPIVersion: "v1", AnnotationName: "x", AnnotationKind: "task"}, []byte{0x7f, 'E', 'L', 'F', 0}, "not a tarball"},
		"not an object": {map[string]string{AnnotationAPIVersion: "v1", AnnotationName: "x", AnnotationKind: "task"}, []byte("{"), "not JSON or YAML"},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			l := good
			if tc.body != nil {
				l = static.NewLayer(tc.body, types.OCIUncompressedLayer)
			}
			img, _ := mutate.Append(empty.Image, mutate.Addendum{Layer: l, Annotations: tc.ann})
			_, err := Read(img)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// More than 20 layers.
	img := empty.Image
	for i := 0; i < MaxResources+1; i++ {
		img, _ = mutate.Append(img, mutate.Addendum{Layer: good, Annotations: map[string]string{AnnotationAPIVersion: "v1", AnnotationKind: "task", AnnotationName: "x" + strings.Repeat("a", i)}})
	}
	if _, err := Read(img); err == nil || !strings.Contains(err.Error(), "at most 20") {
		t.Errorf("21 layers: %v", err)
	}
}

func TestBuildRejects(t *testing.T) {
	var many []byte
	for i := 0; i < MaxResources+1; i++ {
		many = append(many, []byte("---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t"+strings.Repeat("x", i+1)+"\n")...)
	}
	dup := []byte("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: a\n---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: a\n")
	for n, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"too many":   {many, "at most 20"},
		"duplicate":  {dup, "appears twice"},
		"not tekton": {[]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"), "not a Tekton resource"},
		"no name":    {[]byte("apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {}\n"), "metadata.name is empty"},
		"empty":      {[]byte("# nothing\n"), "no Tekton resource"},
		"bad yaml":   {[]byte("apiVersion: [\n"), "not YAML or JSON"},
	} {
		t.Run(n, func(t *testing.T) {
			_, _, err := Build([][]byte{tc.in})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPullWritesEveryResource(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.Start(t)
	ref, _ := name.ParseReference(reg + "/b:1")
	if _, err := Push(ctx, testFiles, ref, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := Pull(ctx, ref, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("wrote %v", files)
	}
	b, err := os.ReadFile(filepath.Join(dir, "task-hello.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var task pipelinev1.Task
	if err := yaml.UnmarshalStrict(b, &task); err != nil {
		t.Fatal(err)
	}
	if task.Name != "hello" || task.Spec.Steps[0].Command[0] != "/hello" {
		t.Errorf("pulled task %+v", task)
	}
	// A bundle whose resource names would escape the directory is refused
	// before anything is written.
	evil, _ := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer([]byte(`{"kind":"Task"}`), types.OCIUncompressedLayer),
		Annotations: map[string]string{AnnotationAPIVersion: "v1", AnnotationKind: "task", AnnotationName: "../../etc/x"},
	})
	res, err := Read(evil)
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if _, err := WriteDir(res, filepath.Join(empty, "out")); err == nil {
		t.Error("wrote a resource named ../../etc/x")
	}
	if _, err := os.Stat(filepath.Join(empty, "out")); err == nil {
		t.Error("created the directory for a refused bundle")
	}
}

func TestReadLayerBounds(t *testing.T) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	w.WriteHeader(&tar.Header{Name: "x", Mode: 0o600, Size: maxResourceBytes + 1, Typeflag: tar.TypeReg})
	if _, err := ReadLayer(io.MultiReader(&buf, bytes.NewReader(make([]byte, 16)))); err == nil {
		t.Error("accepted a resource over the size bound")
	}
	if _, err := ReadLayer(io.LimitReader(zeroes{}, 64<<20)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("endless layer: %v", err)
	}
}

type zeroes struct{}

func (zeroes) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0
	}
	return len(p), nil
}
