package ecbuiltins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
	"github.com/trustline-dev/trustline/internal/verify/ecbuiltins"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
)

// env is a registry on 127.0.0.1 holding what the built-ins read.
type env struct {
	reg        string
	app        name.Digest // signed and attested (fixture)
	bare       name.Digest // nothing beside it
	bundled    name.Digest // signed only through a sigstore bundle referrer
	bundle     name.Digest // operator bundle: manifests/ files, OLM label
	bundleTag  string
	index      name.Digest // one linux/amd64 image: bundle
	jsonBlob   name.Digest // an uncompressed JSON blob
	rawJSON    string
	layer      name.Digest // the bundle's gzipped tar layer
	config     v1.Hash
	pub, other string // the signer's public key, another key
	referrer   name.Digest
}

var bundleFiles = map[string]string{
	"manifests/a.yaml":       "a: 1\nlist: [x, z]\n",
	"manifests/b.json":       `{"b": 2}`,
	"manifests/c.xml":        `<?xml version="1.0"?><c/>`,
	"manifests/bad.yaml":     "key: [unclosed\n",
	"manifests/sub/d.yaml":   "d: 4\n",
	"other/e.yaml":           "e: 5\n",
	"manifests/notes.txt":    "hello",
	"MANIFESTS/upper.yaml":   "u: 1\n",
	"manifests/big.json":     `{"n": 12345678901234567890}`,
	"manifests/empty.yml":    "",
	"manifests/array.JSON":   `[1, 2]`,
	"manifests/spaced.yaml ": "ignored: true\n",
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{reg: testregistry.Start(t)}
	signer, pub, err := fixture.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := fixture.NewSigner()
	e.pub, e.other = string(pub), string(other)
	e.app, err = fixture.Push(ctx, fixture.Image{Repo: e.reg + "/app", Signer: signer, Sign: true, Provenance: true,
		GitURL: "https://github.com/trustline-dev/example-app", Commit: strings.Repeat("ab", 20)})
	if err != nil {
		t.Fatal(err)
	}
	e.bare, err = fixture.Push(ctx, fixture.Image{Repo: e.reg + "/bare", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	e.bundled, err = fixture.Push(ctx, fixture.Image{Repo: e.reg + "/bundled", Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := json.Marshal(cosignoci.NewStatement(e.bundled, "https://slsa.dev/provenance/v1", []byte(`{"buildDefinition":{}}`)))
	envelope, err := signer.SignDSSE(ctx, cosignoci.InTotoPayloadType, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cosignoci.New().WriteBundleReferrers(ctx, e.bundled, signer.KeyID(),
		cosignoci.Attestation{Envelope: envelope, PredicateType: "https://slsa.dev/provenance/v1"}); err != nil {
		t.Fatal(err)
	}

	// The operator bundle: one gzipped layer and the OLM label.
	// A Docker v2 manifest (empty.Image's), where the index below is OCI:
	// the built-ins read both.
	layer := testimage.Layer(t, testimage.Files(bundleFiles)...)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Labels: map[string]string{ecbuiltins.BundleManifestsLabel: "manifests/"}})
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{"org.example/kind": "bundle"}).(v1.Image)
	e.bundleTag = e.reg + "/bundle:1"
	e.bundle = push(t, e.bundleTag, img)
	ld, _ := layer.Digest()
	e.layer = e.bundle.Context().Digest(ld.String())
	e.config, _ = img.ConfigName()

	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	tag, _ := name.NewTag(e.reg + "/index:1")
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	h, _ := idx.Digest()
	e.index = tag.Context().Digest(h.String())

	e.rawJSON = `{"n": 12345678901234567890, "s": "x"}`
	blob := static.NewLayer([]byte(e.rawJSON), types.MediaType("application/json"))
	repo, _ := name.NewRepository(e.reg + "/blobs")
	if err := remote.WriteLayer(repo, blob); err != nil {
		t.Fatal(err)
	}
	bd, _ := blob.Digest()
	e.jsonBlob = repo.Digest(bd.String())

	// An OCI 1.1 referrer of app.
	desc, err := remote.Head(e.app)
	if err != nil {
		t.Fatal(err)
	}
	art := mutate.Subject(mutate.ConfigMediaType(empty.Image, "application/vnd.example.report"), *desc).(v1.Image)
	ad, _ := art.Digest()
	e.referrer = e.app.Context().Digest(ad.String())
	if err := remote.Write(e.referrer, art); err != nil {
		t.Fatal(err)
	}
	return e
}

func push(t *testing.T, ref string, img v1.Image) name.Digest {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return tag.Context().Digest(h.String())
}

// multi matches a query that binds x itself after other statements.
var multi = regexp.MustCompile(`^[a-z] := `)

// eval evaluates the Rego expression q with the built-ins and returns its
// value (nil when undefined) and the built-in errors.
func eval(t *testing.T, ctx context.Context, s *ecbuiltins.Set, q string) (any, []string) {
	t.Helper()
	if !multi.MatchString(q) {
		q = "x := " + q
	}
	opts := append([]func(*rego.Rego){rego.Query(q)}, s.RegoOptions()...)
	var errs []topdown.Error
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	rs, err := pq.Eval(ctx, rego.EvalBuiltinErrorList(&errs))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	if len(rs) == 0 {
		return nil, msgs
	}
	return rs[0].Bindings["x"], msgs
}

// asJSON renders v canonically (sorted keys) for comparison.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func q(s string, args ...any) string {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = fmt.Sprintf("%q", s)
		}
	}
	return fmt.Sprintf(s, args...)
}

func TestOCIBuiltins(t *testing.T) {
	e := setup(t)
	s := ecbuiltins.New()
	ctx := ecbuiltins.WithCache(context.Background())
	bundleRef := e.bundle.String()
	for _, tc := range []struct {
		name, query, want string
	}{
		{"blob is the raw bytes", q("ec.oci.blob(%s)", e.jsonBlob.String()), asJSON(t, e.rawJSON)},
		{"parsed_blob keeps numbers exact", q("ec.oci.parsed_blob(%s)", e.jsonBlob.String()), `{"n":12345678901234567890,"s":"x"}`},
		{"blob_files reads exact paths, YAML to JSON, any extension", q("ec.oci.blob_files(%s, [%s, %s, %s, %s, %s])", e.layer.String(),
			"manifests/a.yaml", "manifests/notes.txt", "manifests/bad.yaml", "manifests/missing.yaml", "manifests"),
			`{"manifests/a.yaml":{"a":1,"list":["x","z"]},"manifests/notes.txt":"hello"}`},
		{"image_files reads the YAML and JSON directly in a directory", q("ec.oci.image_files(%s, [%s])", bundleRef, "/manifests/"),
			`{}`},
		{"image_files matches the directory as the tar names it", q("ec.oci.image_files(%s, [%s])", bundleRef, "manifests/"),
			`{"MANIFESTS/upper.yaml":{"u":1},"manifests/a.yaml":{"a":1,"list":["x","z"]},"manifests/array.JSON":[1,2],"manifests/b.json":{"b":2},"manifests/big.json":{"n":12345678901234567890},"manifests/empty.yml":null}`},
		{"descriptor of a tag", q("ec.oci.descriptor(%s)", e.bundleTag), ""},
		{"image_manifest", q("m := ec.oci.image_manifest(%s); x := [m.schemaVersion, m.mediaType, m.config.digest, count(m.layers), m.annotations[%s]]", bundleRef, "org.example/kind"),
			asJSON(t, []any{2, string(types.DockerManifestSchema2), e.config.String(), 1, "bundle"})},
		{"image_manifest of an index picks linux/amd64", q("ec.oci.image_manifest(%s).config.digest", e.index.String()), asJSON(t, e.config.String())},
		{"image_manifests leaves out what cannot be fetched", q("object.keys(ec.oci.image_manifests({%s, %s, %s}))", bundleRef, e.app.String(), "bad ref!"),
			asJSON(t, []string{e.app.String(), bundleRef})},
		{"image_index", q("i := ec.oci.image_index(%s); x := [i.mediaType, i.manifests[0].digest, i.manifests[0].platform.architecture, i.manifests[0].platform[%s]]", e.index.String(), "os.version"),
			asJSON(t, []any{string(types.OCIImageIndex), e.bundle.DigestStr(), "amd64", ""})},
		{"image_index of an image is undefined", q("ec.oci.image_index(%s)", bundleRef), "null"},
		{"image_tag_refs lists cosign's tags present", q("ec.oci.image_tag_refs(%s)", e.app.String()),
			asJSON(t, []string{cosignoci.SignatureTag(e.app).String(), cosignoci.AttestationTag(e.app).String()})},
		{"image_tag_refs of an image with none", q("ec.oci.image_tag_refs(%s)", e.reg+"/bare:latest"), "[]"},
		{"image_referrers", q("[[r.digest, r.ref, r.artifactType] | some r in ec.oci.image_referrers(%s); r.artifactType == %s]", e.app.String(), "application/vnd.example.report"),
			asJSON(t, [][]string{{e.referrer.DigestStr(), e.referrer.String(), "application/vnd.example.report"}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := eval(t, ctx, s, tc.query)
			if tc.want == "" { // descriptor: checked below
				d, _ := got.(map[string]any)
				if d["digest"] != e.bundle.DigestStr() || d["mediaType"] != string(types.DockerManifestSchema2) {
					t.Errorf("descriptor %v (errors %v)", got, errs)
				}
				return
			}
			if g := asJSON(t, got); g != tc.want {
				t.Errorf("%s\n got  %s\n want %s\n errors %v", tc.query, g, tc.want, errs)
			}
		})
	}
}

// A call that cannot answer is undefined, and its error names the
// function and the reference.
func TestOCIErrorsNameTheReference(t *testing.T) {
	e := setup(t)
	s := ecbuiltins.New(ecbuiltins.WithMaxBlobSize(16))
	ctx := context.Background()
	missing := e.bundle.Context().Digest("sha256:" + strings.Repeat("0", 64)).String()
	for _, tc := range []struct{ query, want string }{
		{`ec.oci.blob("not a ref!")`, `ec.oci.blob: reference "not a ref!": image reference "not a ref!" must be repo@sha256`},
		{q("ec.oci.blob(%s)", e.jsonBlob.String()), "16-byte limit"},
		{q("ec.oci.image_manifest(%s)", missing), `ec.oci.image_manifest: reference "` + missing + `"`},
		{q("ec.oci.image_files(%s, [%s])", e.bundleTag, "manifests"), "must be repo@sha256"},
		{q("ec.oci.descriptor(%s)", missing), "404 Not Found"},
		{`ec.oci.descriptor(json.unmarshal("42"))`, `ec.oci.descriptor: the reference must be a string, not number`},
		{q("ec.oci.image_files(%s, json.unmarshal(%s))", e.bundle.String(), `[1]`), `ec.oci.image_files: a path must be a string, not number`},
		{`ec.purl.parse("pkg:")`, `ec.purl.parse: package URL "pkg:": `},
	} {
		got, errs := eval(t, ctx, s, tc.query)
		if got != nil || len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
			t.Errorf("%s: got %v, errors %q, want an error containing %q", tc.query, got, errs, tc.want)
		}
	}
	// A gzipped blob: its uncompressed bytes hash differently, so
	// ec.oci.blob has no value, as in Conforma.
	got, errs := eval(t, ctx, ecbuiltins.New(), q("ec.oci.blob(%s)", e.layer.String()))
	if got != nil || len(errs) != 1 || !strings.Contains(errs[0], "hashes to") {
		t.Errorf("gzipped blob: got %v, errors %q", got, errs)
	}
}

// Calls under one cache ask the registry once; the cache is per
// evaluation context, so another evaluation asks again.
func TestCachedPerEvaluation(t *testing.T) {
	e := setup(t)
	p := faulty.Start(t, e.reg)
	ref := strings.Replace(e.bundle.String(), e.reg, p.Host, 1)
	s := ecbuiltins.New()
	count := func() int {
		n := 0
		for _, r := range p.Requests() {
			if strings.Contains(r.Path, "/manifests/") {
				n++
			}
		}
		return n
	}
	ctx := ecbuiltins.WithCache(context.Background())
	for i := 0; i < 3; i++ {
		if got, errs := eval(t, ctx, s, q("ec.oci.image_manifest(%s).schemaVersion", ref)); got == nil {
			t.Fatalf("undefined: %v", errs)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("three evaluations under one cache made %d manifest requests, want 1", n)
	}
	eval(t, ecbuiltins.WithCache(context.Background()), s, q("ec.oci.image_manifest(%s).schemaVersion", ref))
	if n := count(); n != 2 {
		t.Errorf("a new cache made %d requests in all, want 2", n)
	}
}

// A registry slower than the call timeout ends the call, not the policy.
func TestCallTimeout(t *testing.T) {
	e := setup(t)
	p := faulty.Start(t, e.reg, &faulty.Rule{Path: "/manifests/", Fault: faulty.Slow(3 * time.Second)})
	s := ecbuiltins.New(ecbuiltins.WithCallTimeout(200 * time.Millisecond))
	start := time.Now()
	got, errs := eval(t, context.Background(), s, q("ec.oci.descriptor(%s)", strings.Replace(e.bundle.String(), e.reg, p.Host, 1)))
	if got != nil || len(errs) != 1 || !strings.Contains(errs[0], "deadline") {
		t.Errorf("got %v, errors %q", got, errs)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestPURL(t *testing.T) {
	s := ecbuiltins.New()
	ctx := context.Background()
	for query, want := range map[string]string{
		`ec.purl.is_valid("pkg:golang/github.com/a/b@v1.0.0")`:                                    "true",
		`ec.purl.is_valid("not a purl")`:                                                          "false",
		`ec.purl.is_valid(json.unmarshal("42"))`:                                                  "false",
		`ec.purl.parse("pkg:rpm/redhat/openssl@3.0.7-1.el9?arch=x86_64&distro=rhel-9.2#sub/dir")`: `{"name":"openssl","namespace":"redhat","qualifiers":[{"key":"arch","value":"x86_64"},{"key":"distro","value":"rhel-9.2"}],"subpath":"sub/dir","type":"rpm","version":"3.0.7-1.el9"}`,
		`ec.purl.parse("pkg:npm/left-pad")`:                                                       `{"name":"left-pad","namespace":"","qualifiers":[],"subpath":"","type":"npm","version":""}`,
	} {
		got, errs := eval(t, ctx, s, query)
		if g := asJSON(t, got); g != want {
			t.Errorf("%s = %s, want %s (errors %v)", query, g, want, errs)
		}
	}
}

func TestSigstore(t *testing.T) {
	e := setup(t)
	s := ecbuiltins.New()
	ctx := ecbuiltins.WithCache(context.Background())
	opts := func(key string) string {
		return fmt.Sprintf(`{"ignore_rekor": true, "public_key": %q}`, key)
	}
	img := e.app.String()

	got, _ := eval(t, ctx, s, fmt.Sprintf(`ec.sigstore.verify_image(%q, %s)`, img, opts(e.pub)))
	r, _ := got.(map[string]any)
	sigs, _ := r["signatures"].([]any)
	if r["success"] != true || len(r["errors"].([]any)) != 0 || len(sigs) != 1 {
		t.Fatalf("verify_image: %v", got)
	}
	sig := sigs[0].(map[string]any)
	if sig["signature"] == "" || sig["keyid"] != "" || sig["certificate"] != "" || len(sig["chain"].([]any)) != 0 {
		t.Errorf("signature shape: %v", sig)
	}

	got, _ = eval(t, ctx, s, fmt.Sprintf(`ec.sigstore.verify_attestation(%q, %s)`, img, opts(e.pub)))
	r, _ = got.(map[string]any)
	atts, _ := r["attestations"].([]any)
	if r["success"] != true || len(atts) == 0 {
		t.Fatalf("verify_attestation: %v", got)
	}
	for _, a := range atts {
		st := a.(map[string]any)["statement"].(map[string]any)
		subj := st["subject"].([]any)[0].(map[string]any)["digest"].(map[string]any)
		if "sha256:"+subj["sha256"].(string) != e.app.DigestStr() || len(a.(map[string]any)["signatures"].([]any)) != 1 {
			t.Errorf("attestation: %v", a)
		}
	}

	// An image signed only through a sigstore bundle referrer verifies
	// through it, as Conforma does for images with bundles.
	for _, fn := range []string{"verify_image", "verify_attestation"} {
		got, _ = eval(t, ctx, s, fmt.Sprintf(`ec.sigstore.%s(%q, %s)`, fn, e.bundled.String(), opts(e.pub)))
		r, _ = got.(map[string]any)
		key := map[string]string{"verify_image": "signatures", "verify_attestation": "attestations"}[fn]
		if l, _ := r[key].([]any); r["success"] != true || len(l) != 1 {
			t.Errorf("%s of a bundle-signed image: %v", fn, got)
		}
	}

	for _, tc := range []struct{ fn, ref, opts, want string }{
		{"verify_image", img, opts(e.other), "no matching signatures"},
		{"verify_attestation", img, opts(e.other), "no matching attestations"},
		{"verify_image", e.bare.String(), opts(e.pub), "no signatures found"},
		{"verify_image", e.bundled.String(), opts(e.other), "no matching signatures"},
		{"verify_attestation", e.bare.String(), opts(e.pub), "no attestations found"},
		{"verify_image", img, fmt.Sprintf(`{"ignore_rekor": false, "public_key": %q}`, e.pub), "ignore_rekor must be true"},
		{"verify_image", img, `{"ignore_rekor": true, "certificate_identity": "me@example.com"}`, "keyless verification is not supported"},
		{"verify_image", img, `{"ignore_rekor": true}`, "public_key"},
		{"verify_image", e.reg + "/app:latest", opts(e.pub), "must be repo@sha256"},
	} {
		key := "signatures"
		if tc.fn == "verify_attestation" {
			key = "attestations"
		}
		got, _ := eval(t, ctx, s, fmt.Sprintf(`ec.sigstore.%s(%q, %s)`, tc.fn, tc.ref, tc.opts))
		r, _ := got.(map[string]any)
		errs, _ := r["errors"].([]any)
		if r["success"] != false || len(errs) != 1 || !strings.Contains(errs[0].(string), tc.want) || len(r[key].([]any)) != 0 {
			t.Errorf("%s(%s, %s) = %v, want a failure containing %q", tc.fn, tc.ref, tc.opts, got, tc.want)
		}
	}
}

// The declarations type-check policies as Conforma's do: a misspelt field
// of a built-in's answer is a compile error.
func TestDeclarationsTypeCheck(t *testing.T) {
	s := ecbuiltins.New()
	opts := append([]func(*rego.Rego){rego.Query(`x := ec.oci.descriptor("r").digset`)}, s.RegoOptions()...)
	_, err := rego.New(opts...).PrepareForEval(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rego_type_error") {
		t.Errorf("want a type error, got %v", err)
	}
	if len(s.Names()) != 14 || len(s.Decls()) != 14 {
		t.Errorf("built-ins: %v", s.Names())
	}
}
