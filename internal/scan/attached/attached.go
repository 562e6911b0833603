// Package attached fetches the SBOM stored beside an image in a
// registry: first as an OCI 1.1 referrer whose artifactType is a CycloneDX
// or SPDX JSON media type (as the sbom step writes it), then under
// cosign's repo:sha256-<hex>.sbom tag (as `cosign attach sbom` writes it).
package attached

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// SBOM media types accepted as a referrer's artifactType.
var sbomArtifactTypes = []string{
	"application/vnd.cyclonedx+json",
	"application/spdx+json",
	"text/spdx+json",
	"spdx+json",
}

// annotationCreated orders SBOM referrers (OCI pre-defined annotation).
const annotationCreated = "org.opencontainers.image.created"

// MaxSize bounds an SBOM read from a registry (a large image's SBOM is a
// few tens of megabytes).
const MaxSize = 256 << 20

// ErrNoSBOM is returned when the image has no SBOM attached.
var ErrNoSBOM = errors.New("no SBOM attached to the image")

// SBOM is an SBOM found beside an image.
type SBOM struct {
	Data []byte
	// Where says how it was found: "referrer sha256:..." or the .sbom tag.
	Where string
	// Image is the digest reference of the image.
	Image name.Digest
}

// Fetch resolves ref to a digest and returns its SBOM.
func Fetch(ref name.Reference, opts ...remote.Option) (*SBOM, error) {
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	d := ref.Context().Digest(desc.Digest.String())

	// go-containerregistry already falls back to the referrers tag schema
	// when a registry lacks the referrers API (404, 400, 406), so an error
	// here is a registry that failed (5xx after retries, a dropped
	// connection, a denied read): an error, never "no referrer", or a
	// transient fault would hide the SBOM and scan another one, or none.
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	// The newest SBOM wins when a rebuild attached another.
	var best *candidate
	for _, m := range im.Manifests {
		c, err := inspect(d, m, opts)
		if err != nil {
			return nil, err
		}
		if c != nil && (best == nil || c.created > best.created) {
			best = c
		}
	}
	if best != nil {
		data, err := firstLayer(best.img)
		if err != nil {
			return nil, fmt.Errorf("SBOM referrer %s of %s: %w", best.digest, d, err)
		}
		return &SBOM{Data: data, Where: "referrer " + best.digest.String(), Image: d}, nil
	}

	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sbom")
	img, err := remote.Image(tag, opts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %s has no SBOM referrer and no %s tag", ErrNoSBOM, d, tag.TagStr())
		}
		return nil, fmt.Errorf("SBOM tag %s: %w", tag, err)
	}
	data, err := firstLayer(img)
	if err != nil {
		return nil, fmt.Errorf("SBOM tag %s: %w", tag, err)
	}
	return &SBOM{Data: data, Where: "tag " + tag.String(), Image: d}, nil
}

type candidate struct {
	digest  v1.Hash
	created string
	img     v1.Image
}

// emptyMediaType is the OCI 1.1 empty config of artifact manifests. Some
// registries (go-containerregistry's own among them) report the config
// media type as a referrer's artifactType instead of the manifest's
// artifactType field; such referrers are opened to find out.
const emptyMediaType = "application/vnd.oci.empty.v1+json"

// inspect returns the referrer m if it is an SBOM, nil otherwise.
func inspect(d name.Digest, m v1.Descriptor, opts []remote.Option) (*candidate, error) {
	if !isSBOMType(m.ArtifactType) && m.ArtifactType != "" && m.ArtifactType != emptyMediaType {
		return nil, nil
	}
	img, err := remote.Image(d.Context().Digest(m.Digest.String()), opts...)
	if err != nil {
		return nil, fmt.Errorf("SBOM referrer %s of %s: %w", m.Digest, d, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("SBOM referrer %s of %s: %w", m.Digest, d, err)
	}
	isSBOM := isSBOMType(mf.ArtifactType) || isSBOMType(m.ArtifactType)
	if !isSBOM && mf.ArtifactType == "" && len(mf.Layers) == 1 {
		isSBOM = isSBOMType(string(mf.Layers[0].MediaType))
	}
	if !isSBOM {
		return nil, nil
	}
	created := m.Annotations[annotationCreated]
	if created == "" {
		created = mf.Annotations[annotationCreated]
	}
	return &candidate{digest: m.Digest, created: created, img: img}, nil
}

func isSBOMType(t string) bool {
	for _, s := range sbomArtifactTypes {
		if t == s {
			return true
		}
	}
	return false
}

func firstLayer(img v1.Image) ([]byte, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) == 0 {
		return nil, errors.New("manifest has no layer holding the SBOM")
	}
	// Refused before a byte is read when the manifest declares too much;
	// the read below is bounded too, should the registry send more.
	if l := m.Layers[0]; l.Size > MaxSize || l.Size < 0 {
		return nil, fmt.Errorf("SBOM layer %s is %d bytes, more than the %d allowed", l.Digest, l.Size, MaxSize)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("SBOM is larger than %d bytes", MaxSize)
	}
	return data, nil
}
