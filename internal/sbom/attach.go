package sbom

import (
	"context"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/cosignoci"
)

// attach pushes doc beside the image subj, as an OCI 1.1 referrer and
// under cosign's .sbom tag; internal/cosignoci owns that layout.
func attach(ctx context.Context, subj Subject, doc []byte, f Format, o *options) (*cosignoci.SBOMAttachment, error) {
	c := cosignoci.New(cosignoci.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, o.remote...)...))
	return c.AttachSBOM(ctx, subj.Repository, subj.Descriptor(), cosignoci.SBOMDocument{
		Data:            doc,
		MediaType:       f.MediaType(),
		CosignMediaType: f.CosignMediaType(),
		Title:           "sbom." + string(f) + ".json",
		Created:         o.now(),
	})
}
