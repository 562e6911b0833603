package sbom

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strings"

	"github.com/anchore/packageurl-go"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations the build step writes on the manifest (OCI image spec,
// pre-defined annotation keys) and labels that carry the same facts.
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	AnnotationSource     = "org.opencontainers.image.source"
	AnnotationRevision   = "org.opencontainers.image.revision"
	AnnotationVendor     = "org.opencontainers.image.vendor"
	AnnotationAuthors    = "org.opencontainers.image.authors"
)

// Subject is the image (or index) an SBOM describes.
type Subject struct {
	// Repository is the image's repository (registry host included).
	Repository name.Repository
	// Tag is the tag the user named, if any.
	Tag string
	// Digest is the manifest (or index) digest.
	Digest v1.Hash
	// MediaType and Size complete the descriptor an attachment's
	// subject field needs.
	MediaType types.MediaType
	Size      int64
	// Platform is set for a platform image.
	Platform *v1.Platform
	// Annotations are the manifest's; Labels the image config's.
	Annotations map[string]string
	Labels      map[string]string
}

// Descriptor returns the OCI descriptor of the subject.
func (s Subject) Descriptor() v1.Descriptor {
	return v1.Descriptor{MediaType: s.MediaType, Size: s.Size, Digest: s.Digest}
}

// Ref returns repo@sha256:….
func (s Subject) Ref() string { return s.Repository.Name() + "@" + s.Digest.String() }

// PURL returns the image's package URL, pkg:oci/<name>@sha256:…?arch=…&
// repository_url=<registry/repo>&tag=…, as the purl spec's oci type says.
func (s Subject) PURL() string {
	return ociPURL(s.Repository, s.Digest.String(), s.Platform, s.Tag)
}

func ociPURL(repo name.Repository, digest string, p *v1.Platform, tag string) string {
	return ociPURLNamed(repo.Name(), digest, p, tag)
}

func ociPURLNamed(repo string, digest string, p *v1.Platform, tag string) string {
	short := repo[strings.LastIndex(repo, "/")+1:]
	q := map[string]string{"repository_url": repo}
	if p != nil && p.Architecture != "" {
		q["arch"] = p.Architecture
	}
	if tag != "" {
		q["tag"] = tag
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var qs packageurl.Qualifiers
	for _, k := range keys {
		qs = append(qs, packageurl.Qualifier{Key: k, Value: q[k]})
	}
	return packageurl.NewPackageURL("oci", "", strings.ToLower(short), digest, qs, "").ToString()
}

// meta looks a key up in the annotations, then the labels.
func (s Subject) meta(key string) string {
	if v := s.Annotations[key]; v != "" {
		return v
	}
	return s.Labels[key]
}

// Base is the base image named by the manifest annotations, if any.
type Base struct {
	// Name is the repository as the annotation spells it
	// (docker.io/library/debian).
	Name       string
	Repository name.Repository
	Tag        string
	Digest     string
}

// BaseImage reads the base image from the annotations the build step
// writes (org.opencontainers.image.base.name / .base.digest). ok is false
// when they are missing; an unparsable value is an error naming it.
func (s Subject) BaseImage() (Base, bool, error) {
	n, d := s.meta(AnnotationBaseName), s.meta(AnnotationBaseDigest)
	if n == "" {
		return Base{}, false, nil
	}
	ref, err := name.ParseReference(n, name.WeakValidation)
	if err != nil {
		return Base{}, false, fmt.Errorf("annotation %s=%q: %w", AnnotationBaseName, n, err)
	}
	b := Base{Repository: ref.Context(), Name: baseName(n)}
	switch r := ref.(type) {
	case name.Tag:
		b.Tag = r.TagStr()
	case name.Digest:
		b.Digest = r.DigestStr()
	}
	if d != "" {
		if _, err := v1.NewHash(d); err != nil {
			return Base{}, false, fmt.Errorf("annotation %s=%q: %w", AnnotationBaseDigest, d, err)
		}
		b.Digest = d
	}
	return b, true, nil
}

// PURL returns the base image's package URL.
func (b Base) PURL() string {
	v := b.Digest
	if v == "" {
		v = b.Tag
	}
	return ociPURLNamed(b.Name, v, nil, b.Tag)
}

// baseName strips the tag or digest from a reference as written.
func baseName(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func randomSerial() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
