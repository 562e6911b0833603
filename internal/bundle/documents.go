package bundle

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/tekton"
)

// Documents fetches the bundle at ref and parses the resources keep
// accepts (every one when keep is nil) as Tekton documents, each named
// where#<resource name> in what they report: where is the reference as
// the user or the taskRef gave it. It returns the digest the registry
// served, and refuses one that differs from the digest ref names. Both
// trustline run (a bundle argument) and the runner's bundles resolver
// (a taskRef) read bundles this way.
func Documents(ctx context.Context, where string, ref name.Reference, remoteOpts []remote.Option, keep func(Resource) bool) ([]*tekton.Document, name.Digest, error) {
	res, digest, err := List(ctx, ref, remoteOpts)
	if err != nil {
		return nil, name.Digest{}, err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != digest.DigestStr() {
		return nil, name.Digest{}, fmt.Errorf("bundle %s: registry served %s", where, digest.DigestStr())
	}
	var docs []*tekton.Document
	for _, r := range res {
		if keep != nil && !keep(r) {
			continue
		}
		ds, problems := tekton.Parse(where+"#"+r.Name, r.Raw)
		if len(problems) > 0 {
			return nil, name.Digest{}, problems
		}
		docs = append(docs, ds...)
	}
	return docs, digest, nil
}

// RefSource is where entry was read from, as Tekton records it in
// status.provenance.refSource and Chains in the provenance: the bundle's
// repository and the digest it was served at.
func RefSource(digest name.Digest, entry string) *v1.RefSource {
	algo, hex, _ := strings.Cut(digest.DigestStr(), ":")
	return &v1.RefSource{URI: digest.Context().Name(), Digest: map[string]string{algo: hex}, EntryPoint: entry}
}
