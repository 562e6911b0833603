package ecbuiltins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown/builtins"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/jsondoc"
	"github.com/trustline-dev/trustline/internal/remoteopt"
)

// Names of the OCI built-ins, as Conforma spells them.
const (
	OCIBlob           = "ec.oci.blob"
	OCIBlobFiles      = "ec.oci.blob_files"
	OCIDescriptor     = "ec.oci.descriptor"
	OCIImageManifest  = "ec.oci.image_manifest"
	OCIImageManifests = "ec.oci.image_manifests"
	OCIImageFiles     = "ec.oci.image_files"
	OCIImageIndex     = "ec.oci.image_index"
	OCIImageTagRefs   = "ec.oci.image_tag_refs"
	OCIImageReferrers = "ec.oci.image_referrers"
	OCIParsedBlob     = "ec.oci.parsed_blob"
)

// manifestConcurrency bounds the parallel fetches of image_manifests: a
// policy listing every task bundle of a pipeline should not open dozens
// of connections to one registry.
const manifestConcurrency = 4

func (s *Set) ociFunctions() []function {
	ref := types.Named("ref", types.S).Description("OCI reference")
	paths := types.Named("paths", types.NewArray(nil, types.S)).Description("the list of paths")
	files := types.NewObject(nil, types.NewDynamicProperty(types.S, types.A))
	return []function{
		{decl: decl(OCIBlob, "Fetch a blob from an OCI registry.", types.Args(ref), types.Named("blob", types.S)), impl1: s.blob},
		{decl: decl(OCIParsedBlob, "Fetch a blob from an OCI registry and parse it as JSON.", types.Args(ref), types.Named("value", types.A)), impl1: s.parsedBlob},
		{decl: decl(OCIBlobFiles, "Fetch structured files (YAML or JSON) from within a blob tar archive.", types.Args(ref, paths), types.Named("files", files)), impl2: s.blobFiles},
		{decl: decl(OCIDescriptor, "Fetch the descriptor of an OCI artifact.", types.Args(ref), types.Named("object", descriptorType(true))), impl1: s.descriptor},
		{decl: decl(OCIImageManifest, "Fetch an Image Manifest from an OCI registry.", types.Args(ref), types.Named("object", manifestType())), impl1: s.imageManifest},
		{decl: decl(OCIImageManifests, "Fetch Image Manifests from an OCI registry in parallel.",
			types.Args(types.Named("refs", types.NewSet(types.S))),
			types.Named("manifests", types.NewObject(nil, types.NewDynamicProperty(types.S, manifestType())))), impl1: s.imageManifests},
		{decl: decl(OCIImageFiles, "Fetch structured files (YAML or JSON) from within an image.", types.Args(ref, paths), types.Named("files", files)), impl2: s.imageFiles},
		{decl: decl(OCIImageIndex, "Fetch an Image Index from an OCI registry.", types.Args(ref), types.Named("object", indexType())), impl1: s.imageIndex},
		{decl: decl(OCIImageTagRefs, "Discover artifacts attached to an image with cosign's tags (.sig, .att, .sbom).", types.Args(ref),
			types.Named("refs", types.NewArray(nil, types.S))), impl1: s.imageTagRefs},
		{decl: decl(OCIImageReferrers, "Discover artifacts attached to an image with the OCI Referrers API.", types.Args(ref),
			types.Named("referrers", types.NewArray(nil, referrerType()))), impl1: s.imageReferrers},
	}
}

// refOperand reads a built-in's reference argument.
// OPA prefixes the error with the function's name.
func refOperand(t *ast.Term) (string, error) {
	v, ok := t.Value.(ast.String)
	if !ok {
		return "", fmt.Errorf("the reference must be a string, not %s", ast.ValueName(t.Value))
	}
	return string(v), nil
}

func (s *Set) blob(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	ref, err := refOperand(a)
	if err != nil {
		return nil, err
	}
	b, err := s.blobBytes(bctx.Context, ref, true)
	if err != nil {
		return nil, refError(ref, err)
	}
	return ast.StringTerm(string(b)), nil
}

func (s *Set) parsedBlob(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	ref, err := refOperand(a)
	if err != nil {
		return nil, err
	}
	return cached(bctx.Context, OCIParsedBlob+"|"+ref, func() (*ast.Term, error) {
		b, err := s.blobBytes(bctx.Context, ref, true)
		if err != nil {
			return nil, refError(ref, err)
		}
		v, err := jsonValue(b)
		if err != nil {
			return nil, refError(ref, fmt.Errorf("not JSON: %w", err))
		}
		return ast.NewTerm(v), nil
	})
}

// blobBytes fetches a blob by digest and returns its uncompressed bytes.
// With check, the bytes must hash to the digest, as Conforma requires of
// ec.oci.blob (so a gzipped blob, whose uncompressed bytes hash
// differently, has no value there); blob_files reads layers, which are
// compressed, and skips the check.
func (s *Set) blobBytes(ctx context.Context, ref string, check bool) ([]byte, error) {
	t, err := cached(ctx, fmt.Sprintf("blob|%t|%s", check, ref), func() (*ast.Term, error) {
		b, err := s.fetchBlob(ctx, ref, check)
		if err != nil {
			return nil, err
		}
		return ast.StringTerm(string(b)), nil
	})
	if err != nil {
		return nil, err
	}
	return []byte(t.Value.(ast.String)), nil
}

func (s *Set) fetchBlob(ctx context.Context, ref string, check bool) ([]byte, error) {
	d, err := remoteopt.ParseDigest(ref, s.o.insecure)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	l, err := remote.Layer(d, s.remoteOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, s.o.maxBlobSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > s.o.maxBlobSize {
		return nil, fmt.Errorf("blob is larger than the %d-byte limit", s.o.maxBlobSize)
	}
	if check {
		sum := sha256.Sum256(b)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != d.DigestStr() {
			return nil, fmt.Errorf("content hashes to %s, not the digest asked for", got)
		}
	}
	return b, nil
}

// registryCall answers one call of a registry built-in about ref, once
// per cache key: fetch runs in a context bounded by the call timeout, its
// errors name the reference, and its answer becomes the term.
func (s *Set) registryCall(ctx context.Context, key, ref string, fetch func(context.Context) (any, error)) (*ast.Term, error) {
	return cached(ctx, key, func() (*ast.Term, error) {
		cctx, cancel := s.callContext(ctx)
		defer cancel()
		v, err := fetch(cctx)
		if err != nil {
			return nil, refError(ref, err)
		}
		return toTerm(v)
	})
}

// refCall answers a built-in whose one argument is the reference.
func (s *Set) refCall(bctx rego.BuiltinContext, builtin string, a *ast.Term, fetch func(context.Context, name.Reference) (any, error)) (*ast.Term, error) {
	ref, err := refOperand(a)
	if err != nil {
		return nil, err
	}
	return s.referenceCall(bctx.Context, builtin, ref, fetch)
}

// referenceCall is registryCall cached per reference under the
// built-in's name, with the reference parsed for fetch.
func (s *Set) referenceCall(ctx context.Context, builtin, ref string, fetch func(context.Context, name.Reference) (any, error)) (*ast.Term, error) {
	return s.registryCall(ctx, builtin+"|"+ref, ref, func(ctx context.Context) (any, error) {
		r, err := remoteopt.ParseReference(ref, s.o.insecure)
		if err != nil {
			return nil, err
		}
		return fetch(ctx, r)
	})
}

func (s *Set) descriptor(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	return s.refCall(bctx, OCIDescriptor, a, func(ctx context.Context, r name.Reference) (any, error) {
		desc, err := remote.Head(r, s.remoteOptions(ctx)...)
		if err != nil {
			return nil, err
		}
		return descriptorObject(*desc), nil
	})
}

func (s *Set) imageManifest(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	return s.refCall(bctx, OCIImageManifest, a, s.fetchManifest)
}

// manifestOf is image_manifest's answer for ref.
func (s *Set) manifestOf(ctx context.Context, ref string) (*ast.Term, error) {
	return s.referenceCall(ctx, OCIImageManifest, ref, s.fetchManifest)
}

// fetchManifest fetches an image manifest. For an index,
// go-containerregistry picks the linux/amd64 image, as it does for
// Conforma.
func (s *Set) fetchManifest(ctx context.Context, r name.Reference) (any, error) {
	img, err := remote.Image(r, s.remoteOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	return manifestObject(m), nil
}

// imageManifests fetches every manifest of a set in parallel; a reference
// that cannot be fetched is left out of the answer, as in Conforma.
func (s *Set) imageManifests(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	set, err := builtins.SetOperand(a.Value, 1)
	if err != nil {
		return nil, err
	}
	var refs []string
	if err := set.Iter(func(t *ast.Term) error {
		r, err := refOperand(t)
		refs = append(refs, r)
		return err
	}); err != nil {
		return nil, err
	}
	terms := make([]*ast.Term, len(refs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, manifestConcurrency)
	for i, r := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			terms[i], _ = s.manifestOf(bctx.Context, r)
		}()
	}
	wg.Wait()
	obj := ast.NewObject()
	for i, r := range refs {
		if terms[i] != nil {
			obj.Insert(ast.StringTerm(r), terms[i])
		}
	}
	return ast.NewTerm(obj), nil
}

func (s *Set) imageIndex(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	return s.refCall(bctx, OCIImageIndex, a, func(ctx context.Context, r name.Reference) (any, error) {
		idx, err := remote.Index(r, s.remoteOptions(ctx)...)
		if err != nil {
			return nil, err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		return indexObject(m), nil
	})
}

// resolve returns the digest r names (asking the registry for a tag's).
func (s *Set) resolve(ctx context.Context, r name.Reference) (name.Digest, error) {
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(r, s.remoteOptions(ctx)...)
	if err != nil {
		return name.Digest{}, err
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// imageTagRefs lists the cosign tags (.sig, .att, .sbom) present beside
// an image. A tag the registry does not have is left out; so is one the
// registry would not answer for, as Conforma does.
func (s *Set) imageTagRefs(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	return s.refCall(bctx, OCIImageTagRefs, a, func(ctx context.Context, r name.Reference) (any, error) {
		d, err := s.resolve(ctx, r)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, tag := range []name.Tag{cosignoci.SignatureTag(d), cosignoci.AttestationTag(d), cosignoci.SBOMTag(d)} {
			if _, err := remote.Head(tag, s.remoteOptions(ctx)...); err == nil {
				out = append(out, tag.String())
			}
		}
		return out, nil
	})
}

func (s *Set) imageReferrers(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
	return s.refCall(bctx, OCIImageReferrers, a, func(ctx context.Context, r name.Reference) (any, error) {
		d, err := s.resolve(ctx, r)
		if err != nil {
			return nil, err
		}
		idx, err := remote.Referrers(d, s.remoteOptions(ctx)...)
		if err != nil {
			return nil, err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(m.Manifests))
		for _, r := range m.Manifests {
			out = append(out, map[string]any{
				"mediaType":    string(r.MediaType),
				"size":         json.Number(fmt.Sprint(r.Size)),
				"digest":       r.Digest.String(),
				"artifactType": r.ArtifactType,
				"ref":          d.Context().Name() + "@" + r.Digest.String(),
				"annotations":  annotations(r.Annotations),
			})
		}
		return out, nil
	})
}

func toTerm(v any) (*ast.Term, error) {
	val, err := ast.InterfaceToValue(v)
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(val), nil
}

// jsonValue parses JSON keeping numbers exact (a digest size or a
// timestamp must not round through float64).
func jsonValue(b []byte) (ast.Value, error) {
	var v any
	if err := jsondoc.Exact(b, &v); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(v)
}

func descriptorObject(d v1.Descriptor) map[string]any {
	urls := make([]any, 0, len(d.URLs))
	for _, u := range d.URLs {
		urls = append(urls, u)
	}
	o := map[string]any{
		"mediaType":    string(d.MediaType),
		"size":         json.Number(fmt.Sprint(d.Size)),
		"digest":       d.Digest.String(),
		"data":         string(d.Data),
		"urls":         urls,
		"annotations":  annotations(d.Annotations),
		"artifactType": d.ArtifactType,
	}
	if p := d.Platform; p != nil {
		o["platform"] = map[string]any{
			"architecture": p.Architecture,
			"os":           p.OS,
			"os.version":   p.OSVersion,
			"os.features":  stringsToAny(p.OSFeatures),
			"variant":      p.Variant,
			"features":     stringsToAny(p.Features),
		}
	}
	return o
}

func manifestObject(m *v1.Manifest) map[string]any {
	return withSubject(map[string]any{
		"schemaVersion": json.Number(fmt.Sprint(m.SchemaVersion)),
		"mediaType":     string(m.MediaType),
		"config":        descriptorObject(m.Config),
		"layers":        descriptorObjects(m.Layers),
		"annotations":   annotations(m.Annotations),
	}, m.Subject)
}

func indexObject(m *v1.IndexManifest) map[string]any {
	return withSubject(map[string]any{
		"schemaVersion": json.Number(fmt.Sprint(m.SchemaVersion)),
		"mediaType":     string(m.MediaType),
		"manifests":     descriptorObjects(m.Manifests),
		"annotations":   annotations(m.Annotations),
	}, m.Subject)
}

func descriptorObjects(ds []v1.Descriptor) []any {
	out := make([]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, descriptorObject(d))
	}
	return out
}

// withSubject adds the subject to a manifest's object: a manifest without
// one has no subject field, not a null one.
func withSubject(o map[string]any, subject *v1.Descriptor) map[string]any {
	if subject != nil {
		o["subject"] = descriptorObject(*subject)
	}
	return o
}

func annotations(a map[string]string) map[string]any {
	o := make(map[string]any, len(a))
	for k, v := range a {
		o[k] = v
	}
	return o
}

func stringsToAny(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

// Types of the answers, so the compiler catches a misspelt field as it
// does under Conforma.
func platformType() types.Type {
	strs := types.NewArray(nil, types.S)
	return types.NewObject([]*types.StaticProperty{
		types.NewStaticProperty("architecture", types.S), types.NewStaticProperty("os", types.S),
		types.NewStaticProperty("os.version", types.S), types.NewStaticProperty("os.features", strs),
		types.NewStaticProperty("variant", types.S), types.NewStaticProperty("features", strs),
	}, nil)
}

func annotationsType() types.Type {
	return types.NewObject(nil, types.NewDynamicProperty(types.S, types.S))
}

func descriptorType(withArtifactType bool) types.Type {
	props := []*types.StaticProperty{
		types.NewStaticProperty("mediaType", types.S), types.NewStaticProperty("size", types.N),
		types.NewStaticProperty("digest", types.S), types.NewStaticProperty("data", types.S),
		types.NewStaticProperty("urls", types.NewArray(nil, types.S)),
		types.NewStaticProperty("annotations", annotationsType()), types.NewStaticProperty("platform", platformType()),
	}
	if withArtifactType {
		props = append(props, types.NewStaticProperty("artifactType", types.S))
	}
	return types.NewObject(props, nil)
}

func manifestType() types.Type {
	d := descriptorType(true)
	return types.NewObject([]*types.StaticProperty{
		types.NewStaticProperty("schemaVersion", types.N), types.NewStaticProperty("mediaType", types.S),
		types.NewStaticProperty("config", d), types.NewStaticProperty("layers", types.NewArray(nil, d)),
		types.NewStaticProperty("annotations", annotationsType()), types.NewStaticProperty("subject", d),
	}, nil)
}

// indexType is Conforma's declaration: its descriptors have no
// artifactType and it declares no subject, though both may be present.
func indexType() types.Type {
	return types.NewObject([]*types.StaticProperty{
		types.NewStaticProperty("schemaVersion", types.N), types.NewStaticProperty("mediaType", types.S),
		types.NewStaticProperty("manifests", types.NewArray(nil, descriptorType(false))),
		types.NewStaticProperty("annotations", annotationsType()),
	}, nil)
}

func referrerType() types.Type {
	return types.NewObject([]*types.StaticProperty{
		types.NewStaticProperty("mediaType", types.S), types.NewStaticProperty("size", types.N),
		types.NewStaticProperty("digest", types.S), types.NewStaticProperty("artifactType", types.S),
		types.NewStaticProperty("ref", types.S), types.NewStaticProperty("annotations", annotationsType()),
	}, nil)
}
