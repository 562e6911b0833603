package cosignoci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// titleAnnotation names a layer (OCI pre-defined annotation).
const titleAnnotation = "org.opencontainers.image.title"

// sbomArtifactTypes are the media types that make a referrer an SBOM:
// the IANA types and the spellings other tools write.
var sbomArtifactTypes = []string{
	"application/vnd.cyclonedx+json",
	"application/spdx+json",
	"text/spdx+json",
	"spdx+json",
}

// MaxSBOMSize bounds an SBOM read from a registry (a large image's SBOM is
// a few tens of megabytes).
const MaxSBOMSize = 256 << 20

// SBOMDocument is an SBOM to attach beside an image.
type SBOMDocument struct {
	// Data is the document.
	Data []byte
	// MediaType is the document's media type: the referrer's artifactType
	// and the media type of its layer.
	MediaType string
	// CosignMediaType is the layer media type under cosign's tag (cosign
	// spells some formats its own way: SPDX JSON is "spdx+json").
	CosignMediaType string
	// Title names the document's layer in the referrer
	// (org.opencontainers.image.title), e.g. "sbom.cyclonedx.json".
	Title string
	// Created is recorded on the referrer, where readers take the newest.
	Created time.Time
}

// SBOMAttachment says where AttachSBOM put an SBOM.
type SBOMAttachment struct {
	// Blob is the digest of the SBOM document, stored once in the
	// image's repository and named by both manifests below.
	Blob v1.Hash
	// Referrer is the OCI 1.1 artifact manifest whose subject is the
	// image (artifactType = the document's media type).
	Referrer name.Digest
	// Tag is cosign's attachment tag, sha256-<hex>.sbom.
	Tag name.Tag
}

// BlobURL is repo@sha256:<blob>, Konflux's SBOM_BLOB_URL.
func (a SBOMAttachment) BlobURL() string {
	return a.Referrer.Context().Name() + "@" + a.Blob.String()
}

// AttachSBOM pushes doc beside the image subject of repo, as an OCI 1.1
// referrer and under cosign's .sbom tag, over one blob. The blobs go
// first, then the referrer manifest by digest, then the tag, so a reader
// never sees a manifest whose blobs are missing. The tag is replaced, as
// `cosign attach sbom` replaces it; referrers accumulate, and readers take
// the newest. Unlike the signature and attestation writers it does not
// look the image up first: the caller has just read it.
func (c *Client) AttachSBOM(ctx context.Context, repo name.Repository, subject v1.Descriptor, doc SBOMDocument) (*SBOMAttachment, error) {
	ropts := c.ropts(ctx)
	mt := types.MediaType(doc.MediaType)
	blob := static.NewLayer(doc.Data, mt)
	blobDigest, err := blob.Digest()
	if err != nil {
		return nil, err
	}
	if err := remote.WriteLayer(repo, blob, ropts...); err != nil {
		return nil, fmt.Errorf("pushing SBOM blob to %s: %w", repo, err)
	}
	cfg := static.NewLayer(emptyJSON, mt)
	if err := remote.WriteLayer(repo, cfg, ropts...); err != nil {
		return nil, fmt.Errorf("pushing empty config to %s: %w", repo, err)
	}
	cfgDigest, err := cfg.Digest()
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  doc.MediaType,
		// The config is the empty blob "{}", but typed with the
		// artifact type rather than application/vnd.oci.empty.v1+json:
		// registries that predate OCI 1.1's artifactType field (and
		// go-containerregistry's own registry) report a referrer's
		// config media type as its artifactType, so this way every
		// registry lists the SBOM under the same type. ORAS and cosign's
		// OCI 1.1 mode write artifacts the same way.
		Config: v1.Descriptor{
			MediaType: mt, Size: int64(len(emptyJSON)), Digest: cfgDigest,
			Data: emptyJSON,
		},
		Layers: []v1.Descriptor{{
			MediaType: mt, Size: int64(len(doc.Data)), Digest: blobDigest,
			Annotations: map[string]string{titleAnnotation: doc.Title},
		}},
		Subject:     &subject,
		Annotations: map[string]string{CreatedAnnotation: doc.Created.UTC().Format(time.RFC3339)},
	}
	ref, err := c.putManifest(ctx, repo, m)
	if err != nil {
		return nil, fmt.Errorf("pushing SBOM referrer %s: %w", ref, err)
	}

	// cosign's layout (pkg/oci/static.NewFile): an OCI image manifest with
	// an OCI config and the document as its only, uncompressed layer.
	img, err := mutate.Append(emptyOCIImage(), mutate.Addendum{Layer: static.NewLayer(doc.Data, types.MediaType(doc.CosignMediaType))})
	if err != nil {
		return nil, err
	}
	tag := SBOMTag(repo.Digest(subject.Digest.String()))
	if err := remote.Write(tag, img, ropts...); err != nil {
		return nil, fmt.Errorf("pushing SBOM tag %s: %w", tag, err)
	}
	return &SBOMAttachment{Blob: blobDigest, Referrer: ref, Tag: tag}, nil
}

// ErrNoSBOM is returned (wrapped) when the image has no SBOM attached.
var ErrNoSBOM = errors.New("no SBOM attached to the image")

// AttachedSBOM is an SBOM found beside an image.
type AttachedSBOM struct {
	Data []byte
	// Where says how it was found: "referrer sha256:..." or the .sbom tag.
	Where string
	// Image is the digest reference of the image.
	Image name.Digest
}

// SBOM resolves ref to a digest and returns the SBOM beside it: the newest
// OCI 1.1 referrer whose artifactType is an SBOM media type, else the one
// under cosign's .sbom tag. Neither is ErrNoSBOM. Nothing is verified: an
// SBOM that must be trusted is read from a signed attestation instead.
func (c *Client) SBOM(ctx context.Context, ref name.Reference) (*AttachedSBOM, error) {
	ropts := c.ropts(ctx)
	desc, err := remote.Head(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	d := ref.Context().Digest(desc.Digest.String())

	// go-containerregistry already falls back to the referrers tag schema
	// when a registry lacks the referrers API (404, 400, 406), so an error
	// here is a registry that failed (5xx after retries, a dropped
	// connection, a denied read): an error, never "no referrer", or a
	// transient fault would hide the SBOM and scan another one, or none.
	idx, err := remote.Referrers(d, ropts...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	// The newest SBOM wins when a rebuild attached another.
	var best *sbomCandidate
	for _, m := range im.Manifests {
		cand, err := inspectSBOMReferrer(d, m, ropts)
		if err != nil {
			return nil, err
		}
		if cand != nil && (best == nil || cand.created > best.created) {
			best = cand
		}
	}
	if best != nil {
		data, err := sbomLayer(best.img)
		if err != nil {
			return nil, fmt.Errorf("SBOM referrer %s of %s: %w", best.digest, d, err)
		}
		return &AttachedSBOM{Data: data, Where: "referrer " + best.digest.String(), Image: d}, nil
	}

	tag := SBOMTag(d)
	img, err := remote.Image(tag, ropts...)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s has no SBOM referrer and no %s tag", ErrNoSBOM, d, tag.TagStr())
		}
		return nil, fmt.Errorf("SBOM tag %s: %w", tag, err)
	}
	data, err := sbomLayer(img)
	if err != nil {
		return nil, fmt.Errorf("SBOM tag %s: %w", tag, err)
	}
	return &AttachedSBOM{Data: data, Where: "tag " + tag.String(), Image: d}, nil
}

type sbomCandidate struct {
	digest  v1.Hash
	created string
	img     v1.Image
}

// inspectSBOMReferrer returns the referrer m if it is an SBOM, nil
// otherwise. Some registries (go-containerregistry's own among them)
// report the config media type as a referrer's artifactType instead of the
// manifest's artifactType field; such referrers, and those with no type,
// are opened to find out.
func inspectSBOMReferrer(d name.Digest, m v1.Descriptor, ropts []remote.Option) (*sbomCandidate, error) {
	if !isSBOMType(m.ArtifactType) && m.ArtifactType != "" && m.ArtifactType != emptyMediaType {
		return nil, nil
	}
	img, err := remote.Image(d.Context().Digest(m.Digest.String()), ropts...)
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
	created := m.Annotations[CreatedAnnotation]
	if created == "" {
		created = mf.Annotations[CreatedAnnotation]
	}
	return &sbomCandidate{digest: m.Digest, created: created, img: img}, nil
}

func isSBOMType(t string) bool { return slices.Contains(sbomArtifactTypes, t) }

// sbomLayer reads the document: the first layer, at most MaxSBOMSize.
func sbomLayer(img v1.Image) ([]byte, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) == 0 {
		return nil, errors.New("manifest has no layer holding the SBOM")
	}
	// Refused before a byte is read when the manifest declares too much;
	// the read below is bounded too, should the registry send more.
	if l := m.Layers[0]; l.Size > MaxSBOMSize || l.Size < 0 {
		return nil, fmt.Errorf("SBOM layer %s is %d bytes, more than the %d allowed", l.Digest, l.Size, MaxSBOMSize)
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
	data, err := io.ReadAll(io.LimitReader(rc, MaxSBOMSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSBOMSize {
		return nil, fmt.Errorf("SBOM is larger than %d bytes", MaxSBOMSize)
	}
	return data, nil
}
