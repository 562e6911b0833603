package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The digest of the empty JSON object "{}", OCI 1.1's empty config blob.
const emptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

// Annotations on the referrer manifest.
const (
	AnnotationCreated = "org.opencontainers.image.created"
	annotationTitle   = "org.opencontainers.image.title"
)

// Attachment says where an SBOM was pushed.
type Attachment struct {
	// Blob is the digest of the SBOM document, stored once in the
	// image's repository and named by both manifests below.
	Blob v1.Hash
	// Referrer is the OCI 1.1 artifact manifest whose subject is the
	// image (artifactType = the format's media type).
	Referrer name.Digest
	// Tag is cosign's attachment tag, sha256-<hex>.sbom.
	Tag name.Tag
}

// BlobURL is repo@sha256:<blob>, Konflux's SBOM_BLOB_URL.
func (a Attachment) BlobURL() string {
	return a.Referrer.Context().Name() + "@" + a.Blob.String()
}

// CosignTag returns cosign's SBOM attachment tag for an image digest.
func CosignTag(repo name.Repository, digest v1.Hash) name.Tag {
	return repo.Tag(digest.Algorithm + "-" + digest.Hex + ".sbom")
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// Attach pushes doc next to the image subj, twice over one blob: as an OCI
// 1.1 referrer (what policy engines and `oras discover` read) and under
// cosign's tag scheme (what `cosign download sbom` and older tools read).
// The blobs go first, then the referrer manifest by digest, then the tag,
// so a reader never sees a manifest whose blobs are missing.
func Attach(subj Subject, doc []byte, f Format, created time.Time, opts ...remote.Option) (*Attachment, error) {
	repo := subj.Repository
	blob := static.NewLayer(doc, types.MediaType(f.MediaType()))
	blobDigest, err := blob.Digest()
	if err != nil {
		return nil, err
	}
	if err := remote.WriteLayer(repo, blob, opts...); err != nil {
		return nil, fmt.Errorf("pushing SBOM blob to %s: %w", repo, err)
	}
	if err := remote.WriteLayer(repo, static.NewLayer([]byte("{}"), types.MediaType(f.MediaType())), opts...); err != nil {
		return nil, fmt.Errorf("pushing empty config to %s: %w", repo, err)
	}
	subjDesc := subj.Descriptor()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  f.MediaType(),
		// The config is the empty blob "{}", but typed with the
		// artifact type rather than application/vnd.oci.empty.v1+json:
		// registries that predate OCI 1.1's artifactType field (and
		// go-containerregistry's own registry) report a referrer's
		// config media type as its artifactType, so this way every
		// registry lists the SBOM under the same type. ORAS and cosign's
		// OCI 1.1 mode write artifacts the same way.
		Config: v1.Descriptor{
			MediaType: types.MediaType(f.MediaType()), Size: 2, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(emptyDigest, "sha256:")},
			Data: []byte("{}"),
		},
		Layers: []v1.Descriptor{{
			MediaType: types.MediaType(f.MediaType()), Size: int64(len(doc)), Digest: blobDigest,
			Annotations: map[string]string{annotationTitle: "sbom." + string(f) + ".json"},
		}},
		Subject:     &subjDesc,
		Annotations: map[string]string{AnnotationCreated: created.UTC().Format(time.RFC3339)},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	refDigest := repo.Digest(h.String())
	if err := remote.Put(refDigest, rawManifest{raw, types.OCIManifestSchema1}, opts...); err != nil {
		return nil, fmt.Errorf("pushing SBOM referrer %s: %w", refDigest, err)
	}

	// cosign's layout (pkg/oci/static.NewFile): an OCI image manifest with
	// an OCI config and the document as its only, uncompressed layer.
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(doc, types.MediaType(f.CosignMediaType()))})
	if err != nil {
		return nil, err
	}
	tag := CosignTag(repo, subj.Digest)
	if err := remote.Write(tag, img, opts...); err != nil {
		return nil, fmt.Errorf("pushing SBOM tag %s: %w", tag, err)
	}
	return &Attachment{Blob: blobDigest, Referrer: refDigest, Tag: tag}, nil
}

// Attached is an SBOM read back from the registry.
type Attached struct {
	Format   Format
	Document []byte
	// Via is "referrer" or "tag".
	Via string
	// Manifest is the manifest that named the document.
	Manifest name.Digest
}

// maxDocument bounds how much of an attached SBOM is read.
const maxDocument = 512 << 20

// Fetch reads the SBOM attached to an image: the newest OCI 1.1 referrer
// with an SBOM artifactType first, cosign's sha256-<hex>.sbom tag second.
func Fetch(image name.Digest, opts ...remote.Option) (*Attached, error) {
	idx, err := remote.Referrers(image, opts...)
	if err == nil {
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("referrers of %s: %w", image, err)
		}
		var best *v1.Descriptor
		for i := range im.Manifests {
			d := &im.Manifests[i]
			if d.ArtifactType != CycloneDX.MediaType() && d.ArtifactType != SPDX.MediaType() {
				continue
			}
			if best == nil || d.Annotations[AnnotationCreated] > best.Annotations[AnnotationCreated] {
				best = d
			}
		}
		if best != nil {
			md := image.Context().Digest(best.Digest.String())
			doc, f, err := readArtifact(md, opts)
			if err != nil {
				return nil, err
			}
			return &Attached{Format: f, Document: doc, Via: "referrer", Manifest: md}, nil
		}
	}
	h, err := v1.NewHash(image.DigestStr())
	if err != nil {
		return nil, err
	}
	tag := CosignTag(image.Context(), h)
	desc, err := remote.Head(tag, opts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("no SBOM attached to %s (no referrer with artifactType %s or %s, no tag %s)",
				image, CycloneDX.MediaType(), SPDX.MediaType(), tag.TagStr())
		}
		return nil, fmt.Errorf("looking up %s: %w", tag, err)
	}
	md := image.Context().Digest(desc.Digest.String())
	doc, f, err := readArtifact(md, opts)
	if err != nil {
		return nil, err
	}
	return &Attached{Format: f, Document: doc, Via: "tag", Manifest: md}, nil
}

func readArtifact(md name.Digest, opts []remote.Option) ([]byte, Format, error) {
	img, err := remote.Image(md, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("reading SBOM manifest %s: %w", md, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, "", fmt.Errorf("reading SBOM manifest %s: %w", md, err)
	}
	for _, l := range m.Layers {
		var f Format
		switch string(l.MediaType) {
		case CycloneDX.MediaType():
			f = CycloneDX
		case SPDX.MediaType(), SPDX.CosignMediaType():
			f = SPDX
		default:
			continue
		}
		if l.Size > maxDocument {
			return nil, "", fmt.Errorf("SBOM %s in %s is %d bytes, over %d", l.Digest, md, l.Size, maxDocument)
		}
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, "", err
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, "", fmt.Errorf("reading SBOM blob %s: %w", l.Digest, err)
		}
		defer rc.Close()
		doc, err := io.ReadAll(io.LimitReader(rc, maxDocument+1))
		if err != nil {
			return nil, "", fmt.Errorf("reading SBOM blob %s: %w", l.Digest, err)
		}
		if h, _, _ := v1.SHA256(bytes.NewReader(doc)); h != l.Digest {
			return nil, "", fmt.Errorf("SBOM blob %s in %s does not match its digest", l.Digest, md)
		}
		return doc, f, nil
	}
	return nil, "", fmt.Errorf("manifest %s has no CycloneDX or SPDX JSON layer", md)
}
