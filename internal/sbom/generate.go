package sbom

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/remoteopt"
)

// Request names what to describe and how.
type Request struct {
	// Reference is the image (repo:tag or repo@sha256:…). With Layout
	// it names the repository the image belongs to (and, by digest or
	// tag, which manifest of the layout to use); attachments go there.
	Reference name.Reference
	// Layout is an OCI image layout directory to read instead of the
	// registry.
	Layout string
	Format Format
	// Attach pushes each SBOM next to its image.
	Attach bool
}

// Result is the SBOM of one image or index.
type Result struct {
	Subject    Subject
	Document   []byte
	Catalog    *Catalog                  // nil for an index
	Attachment *cosignoci.SBOMAttachment // nil unless attached
	Children   []*Result                 // the platform images of an index
}

// Generate catalogs the image or index named by req and encodes (and,
// with req.Attach, pushes) its SBOMs: for an index, one per platform
// image and one for the index that names them.
func Generate(ctx context.Context, req Request, opts ...Option) (*Result, error) {
	o := makeOptions(opts)
	if req.Format == "" {
		req.Format = CycloneDX
	}
	t, err := resolve(ctx, req, &o)
	if err != nil {
		return nil, err
	}
	if t.index == nil {
		return one(ctx, req, t.subject, t.image, opts, &o)
	}
	im, err := t.index.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: reading index: %w", t.subject.Ref(), err)
	}
	res := &Result{Subject: t.subject}
	var children []Child
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue // nested indexes, signatures and other artifacts
		}
		if d.Platform != nil && (d.Platform.OS == "unknown" || d.Platform.Architecture == "unknown") {
			continue // buildkit's attestation manifests
		}
		img, err := t.index.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s: platform image %s: %w", t.subject.Ref(), d.Digest, err)
		}
		subj, err := subjectOf(img, t.subject.Repository, "", d)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(o.progress, "platform %s (%s)\n", platformString(subj.Platform), d.Digest)
		r, err := one(ctx, req, subj, img, opts, &o)
		if err != nil {
			return nil, err
		}
		res.Children = append(res.Children, r)
		c := Child{Subject: subj}
		if r.Attachment != nil {
			c.SBOM = r.Attachment.Blob.String()
		}
		children = append(children, c)
	}
	if len(children) == 0 {
		return nil, fmt.Errorf("%s: index has no platform images", t.subject.Ref())
	}
	if res.Document, err = EncodeIndex(t.subject, children, req.Format, opts...); err != nil {
		return nil, err
	}
	if req.Attach {
		if res.Attachment, err = attach(ctx, t.subject, res.Document, req.Format, &o); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}

func one(ctx context.Context, req Request, subj Subject, img v1.Image, opts []Option, o *options) (*Result, error) {
	cat, err := CatalogImage(ctx, img, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subj.Ref(), err)
	}
	doc, err := Encode(cat, subj, req.Format, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subj.Ref(), err)
	}
	r := &Result{Subject: subj, Document: doc, Catalog: cat}
	if req.Attach {
		if r.Attachment, err = attach(ctx, subj, doc, req.Format, o); err != nil {
			return nil, err
		}
	}
	return r, nil
}

type target struct {
	subject Subject
	image   v1.Image
	index   v1.ImageIndex
}

func tagOf(ref name.Reference) string {
	if t, ok := ref.(name.Tag); ok {
		return t.TagStr()
	}
	return ""
}

func resolve(ctx context.Context, req Request, o *options) (*target, error) {
	if req.Reference == nil {
		return nil, fmt.Errorf("no image reference")
	}
	repo := req.Reference.Context()
	if req.Layout != "" {
		return resolveLayout(req, o)
	}
	desc, err := remote.Get(req.Reference, append([]remote.Option{remote.WithContext(ctx)}, o.remote...)...)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", req.Reference, err)
	}
	t := &target{}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", req.Reference, err)
		}
		t.index = idx
		t.subject, err = indexSubject(idx, repo, tagOf(req.Reference), desc.Descriptor)
		return t, err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", req.Reference, err)
	}
	t.image = img
	t.subject, err = subjectOf(img, repo, tagOf(req.Reference), desc.Descriptor)
	return t, err
}

func resolveLayout(req Request, o *options) (*target, error) {
	p, err := layout.FromPath(req.Layout)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", req.Layout, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", req.Layout, err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: index.json: %w", req.Layout, err)
	}
	var pick []v1.Descriptor
	switch r := req.Reference.(type) {
	case name.Digest:
		for _, d := range im.Manifests {
			if d.Digest.String() == r.DigestStr() {
				pick = append(pick, d)
			}
		}
	default:
		tag := tagOf(r)
		for _, d := range im.Manifests {
			if d.Annotations["org.opencontainers.image.ref.name"] == tag {
				pick = append(pick, d)
			}
		}
		if len(pick) == 0 && len(im.Manifests) == 1 {
			pick = im.Manifests
		}
	}
	if len(pick) != 1 {
		var ds []string
		for _, d := range im.Manifests {
			ds = append(ds, d.Digest.String())
		}
		return nil, fmt.Errorf("OCI layout %s: %q selects %d of its manifests [%s]; name one by digest (repo@sha256:…)",
			req.Layout, req.Reference.String(), len(pick), strings.Join(ds, ", "))
	}
	d := pick[0]
	repo := req.Reference.Context()
	t := &target{}
	switch {
	case d.MediaType.IsIndex():
		idx, err := top.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s: %s: %w", req.Layout, d.Digest, err)
		}
		t.index = idx
		t.subject, err = indexSubject(idx, repo, tagOf(req.Reference), d)
		return t, err
	case d.MediaType.IsImage():
		img, err := top.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s: %s: %w", req.Layout, d.Digest, err)
		}
		t.image = img
		t.subject, err = subjectOf(img, repo, tagOf(req.Reference), d)
		return t, err
	}
	return nil, fmt.Errorf("OCI layout %s: %s has media type %s, not an image or index", req.Layout, d.Digest, d.MediaType)
}

func subjectOf(img v1.Image, repo name.Repository, tag string, d v1.Descriptor) (Subject, error) {
	m, err := img.Manifest()
	if err != nil {
		return Subject{}, fmt.Errorf("%s@%s: manifest: %w", repo, d.Digest, err)
	}
	// Checked here, before any layer is read: a layer's diff_id comes
	// from the config.
	cf, err := remoteopt.ConfigFile(img)
	if err != nil {
		return Subject{}, fmt.Errorf("%s@%s: config: %w", repo, d.Digest, err)
	}
	s := Subject{Repository: repo, Tag: tag, Digest: d.Digest, MediaType: d.MediaType, Size: d.Size,
		Platform: d.Platform, Annotations: m.Annotations, Labels: cf.Config.Labels}
	if s.Platform == nil && cf.OS != "" {
		s.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	if s.MediaType == "" {
		s.MediaType = types.OCIManifestSchema1
	}
	return s, nil
}

func indexSubject(idx v1.ImageIndex, repo name.Repository, tag string, d v1.Descriptor) (Subject, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return Subject{}, fmt.Errorf("%s@%s: index: %w", repo, d.Digest, err)
	}
	return Subject{Repository: repo, Tag: tag, Digest: d.Digest, MediaType: d.MediaType, Size: d.Size,
		Annotations: im.Annotations}, nil
}
