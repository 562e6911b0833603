package cosignoci

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/testregistry"
)

func TestAttachArtifactAsOrasDoes(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	d := pushRandom(t, host, "app")
	const mt = "application/vnd.example.report+json"
	content := []byte(`{"vulnerabilities":{}}`)
	ref, err := New().AttachArtifact(ctx, d, mt, "report.json", content)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Context().String() != d.Context().String() {
		t.Errorf("referrer %s not in the image's repository", ref)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if m.ArtifactType != mt || m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() || len(m.Layers) != 1 ||
		string(m.Layers[0].MediaType) != mt || m.Layers[0].Annotations["org.opencontainers.image.title"] != "report.json" ||
		m.Config.MediaType != emptyMediaType {
		t.Fatalf("referrer manifest %+v", m)
	}
	l, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := l.Compressed()
	b, _ := io.ReadAll(rc)
	if string(b) != string(content) {
		t.Errorf("layer %q", b)
	}
	// The registry lists it among the image's referrers. (The in-process
	// registry reports the config's media type as the artifact type;
	// the manifest's own artifactType is checked above.)
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	found := false
	for _, desc := range im.Manifests {
		found = found || desc.Digest.String() == ref.DigestStr()
	}
	if !found {
		t.Errorf("referrers %+v lack %s", im.Manifests, ref)
	}
	missing, _ := name.NewDigest(host + "/app@sha256:" + "0000000000000000000000000000000000000000000000000000000000000000")
	if _, err := New().AttachArtifact(ctx, missing, mt, "r.json", content); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("attach to a missing image: %v, want ErrImageNotFound", err)
	}
}
