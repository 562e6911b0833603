package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/attest"
	"github.com/trustline-dev/trustline/internal/bundle"
	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/taskdoc"
)

type options struct {
	registry  string
	binDir    string
	now       func() time.Time
	created   time.Time
	progress  io.Writer
	remote    []remote.Option
	signer    *signing.Signer
	commit    string
	sourceURL string
	insecure  bool
}

// Option configures Publish.
type Option func(*options)

// WithRegistry is the repository prefix to publish to (REPO/step-<name>,
// REPO/task-<name>, REPO/pipeline-<name>). Default: the catalog's
// registry.
func WithRegistry(r string) Option {
	return func(o *options) { o.registry = strings.TrimSuffix(r, "/") }
}

// WithBinDir is where the step binaries are (default ROOT/bin, as make
// build leaves them).
func WithBinDir(d string) Option { return func(o *options) { o.binDir = d } }

// WithClock sets the time publications are recorded at (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithCreated sets the created time of step images and bundles (default
// the epoch, so the same input gives the same digest).
func WithCreated(t time.Time) Option { return func(o *options) { o.created = t } }

// WithProgress receives one line per step (default: discarded).
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithRemoteOptions passes registry options (credentials, transport).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, opts...) }
}

// WithSigner signs every pushed step image and bundle with cosign's
// simple-signing scheme (a .sig tag cosign verify reads) and attests it
// with SLSA v1 provenance (.att). Default: neither.
func WithSigner(s *signing.Signer) Option { return func(o *options) { o.signer = s } }

// WithSource sets the repository URL and commit recorded in bundle
// annotations and tags (default: read from the Git repository at root:
// HEAD and the origin remote).
func WithSource(url, commit string) Option {
	return func(o *options) { o.sourceURL, o.commit = url, commit }
}

// WithInsecure allows plain HTTP to a registry that is not on loopback.
func WithInsecure(on bool) Option { return func(o *options) { o.insecure = on } }

// Published is one bundle the run published or found already published.
type Published struct {
	Kind, Name, Version string
	// Bundle is REPO/<kind>-<name>:<major.minor>@sha256:...
	Bundle string
	// Pushed is false when the catalog's bundle was already current.
	Pushed bool
}

// Report is what Publish did.
type Report struct {
	// StepImages maps each step to the image pinned into the tasks.
	StepImages map[string]string
	Bundles    []Published
	// Files are the YAML files rewritten with new digests.
	Files  []string
	Commit string
}

// DeployFiles are manifests outside the catalog that run step images;
// Publish pins them like the task YAMLs.
var DeployFiles = []string{"deploy/gate.yaml"}

var (
	stepPin   = regexp.MustCompile(`([A-Za-z0-9][A-Za-z0-9._:/-]*)/step-([a-z0-9][a-z0-9-]*)@sha256:[0-9a-f]{64}`)
	bundlePin = regexp.MustCompile(`([A-Za-z0-9][A-Za-z0-9._:/-]*)/task-([a-z0-9][a-z0-9-]*):([0-9]+\.[0-9]+)@sha256:[0-9a-f]{64}`)
)

// Publish builds and pushes the step images, pins them into the task
// YAMLs, pushes and signs one bundle per task and pipeline version whose
// content changed since it was last published, records every digest in
// catalog.yaml and regenerates the READMEs. Run twice on the same tree it
// changes nothing and pushes nothing.
func Publish(ctx context.Context, root string, opts ...Option) (*Report, error) {
	p, items, err := startPublish(root, opts)
	if err != nil {
		return nil, err
	}
	// 1. Step images: build every one before pushing any, so a missing
	// binary stops the run before the registry is touched.
	names := p.stepNames(items)
	images, err := p.buildStepImages(names)
	if err != nil {
		return nil, err
	}
	for _, s := range names {
		if err := p.pushStepImage(ctx, s, images[s]); err != nil {
			return nil, err
		}
	}
	// 2. Pin them into the task YAMLs, and into the deploy gate, which
	// runs the verify-policy step image (deploy/gate.yaml).
	if err := p.pinStepImages(items); err != nil {
		return nil, err
	}
	if err := p.recordStepImages(); err != nil {
		return nil, err
	}
	// 3. Task bundles, then pipelines with their task references pinned
	// to the bundles just published.
	for _, kind := range []string{catalog.KindTask, catalog.KindPipeline} {
		if err := p.publishBundles(ctx, kind); err != nil {
			return nil, err
		}
	}
	if err := p.cat.Save(filepath.Join(root, catalog.FileName)); err != nil {
		return nil, err
	}
	if _, err := taskdoc.WriteReadmes(ctx, root); err != nil {
		return nil, err
	}
	return p.rep, nil
}

// publishRun is one Publish call: its options, the catalog it updates and
// the report it fills in as it goes.
type publishRun struct {
	o    *options
	root string
	cat  *catalog.Catalog
	// oldRegistry is the catalog's registry before this run: references
	// to it are republished to o.registry.
	oldRegistry string
	rep         *Report
}

// startPublish applies the options and loads the tree and the catalog,
// synced, failing before any work when there is nowhere to publish to or
// no commit to record.
func startPublish(root string, opts []Option) (*publishRun, []Item, error) {
	o := &options{now: time.Now, created: time.Unix(0, 0), progress: io.Discard}
	for _, opt := range opts {
		opt(o)
	}
	if o.binDir == "" {
		o.binDir = filepath.Join(root, "bin")
	}
	items, c, _, err := loadSynced(root)
	if err != nil {
		return nil, nil, err
	}
	oldRegistry := c.Registry
	if o.registry == "" {
		o.registry = c.Registry
	}
	if o.registry == "" {
		return nil, nil, errors.New("no registry: give --registry or set registry: in catalog.yaml")
	}
	if err := o.source(root); err != nil {
		return nil, nil, err
	}
	rep := &Report{StepImages: map[string]string{}, Commit: o.commit}
	return &publishRun{o: o, root: root, cat: c, oldRegistry: oldRegistry, rep: rep}, items, nil
}

// ours says whether a pinned reference names the registry the catalog had
// before this run or the one it publishes to: references to any other
// registry are someone else's and stay as they are.
func (p *publishRun) ours(registry string) bool {
	return registry == p.oldRegistry || registry == p.o.registry
}

// stepNames are the steps whose images the items pin from our registry,
// sorted.
func (p *publishRun) stepNames(items []Item) []string {
	steps := map[string]bool{}
	for _, it := range items {
		for _, img := range it.StepImages {
			if m := stepPin.FindStringSubmatch(img); m != nil && p.ours(m[1]) {
				steps[m[2]] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(steps))
}

// buildStepImages builds the image of each step from its binary.
func (p *publishRun) buildStepImages(names []string) (map[string]v1.Image, error) {
	images := map[string]v1.Image{}
	for _, s := range names {
		bin := filepath.Join(p.o.binDir, s)
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("step %s: binary %s missing: run `make build` first: %w", s, bin, err)
		}
		img, err := StepImage(bin, s, p.o.created)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", s, err)
		}
		images[s] = img
	}
	return images, nil
}

// pushStepImage pushes and signs step s's image, tagged with the commit,
// unless the registry already has it, and reports its digest.
func (p *publishRun) pushStepImage(ctx context.Context, s string, img v1.Image) error {
	o := p.o
	tag, err := o.ref(fmt.Sprintf("%s/step-%s:%s", o.registry, s, o.commit))
	if err != nil {
		return err
	}
	h, err := img.Digest()
	if err != nil {
		return err
	}
	d := tag.Context().Digest(h.String())
	if o.present(ctx, d) {
		// Same binary, same image: already pushed (and signed, when
		// signing); pushing or attesting it again would only add
		// duplicate attestations.
		p.rep.StepImages[s] = d.String()
		fmt.Fprintf(o.progress, "step image %s: unchanged\n", d)
		return nil
	}
	if _, err := bundle.Write(ctx, img, tag, o.remote); err != nil {
		return fmt.Errorf("step %s: %w", s, err)
	}
	sum, err := fileDigest(filepath.Join(o.binDir, s))
	if err != nil {
		return err
	}
	if err := o.sign(ctx, d, "steps/"+s, []dependency{{URI: "file:bin/" + s, Digest: map[string]string{"sha256": sum}, Name: "binary"}}); err != nil {
		return err
	}
	p.rep.StepImages[s] = d.String()
	fmt.Fprintf(o.progress, "step image %s\n", d)
	return nil
}

// pinStepImages rewrites the step image references of the task YAMLs
// and the DeployFiles present to the digests just published.
func (p *publishRun) pinStepImages(items []Item) error {
	var pinned []string
	for _, it := range items {
		if it.Kind == catalog.KindTask {
			pinned = append(pinned, it.Path)
		}
	}
	for _, f := range DeployFiles {
		if _, err := os.Stat(filepath.Join(p.root, f)); err == nil {
			pinned = append(pinned, f)
		}
	}
	for _, f := range pinned {
		changed, err := rewrite(filepath.Join(p.root, f), stepPin, func(m []string) string {
			if d, ok := p.rep.StepImages[m[2]]; ok && p.ours(m[1]) {
				return d
			}
			return m[0]
		})
		if err != nil {
			return err
		}
		if changed {
			p.rep.Files = append(p.rep.Files, f)
		}
	}
	return nil
}

// recordStepImages saves catalog.yaml with the pinned step images now, so
// the tree and catalog.yaml agree even if a bundle push fails.
func (p *publishRun) recordStepImages() error {
	p.cat.Registry = p.o.registry
	items, err := Tree(p.root)
	if err != nil {
		return err
	}
	if _, err := SyncCatalog(p.cat, items); err != nil {
		return err
	}
	return p.cat.Save(filepath.Join(p.root, catalog.FileName))
}

// publishBundles publishes the bundle of every item of one kind, from
// the tree as it is now (with the pins of the steps before).
func (p *publishRun) publishBundles(ctx context.Context, kind string) error {
	items, err := Tree(p.root)
	if err != nil {
		return err
	}
	if _, err := SyncCatalog(p.cat, items); err != nil {
		return err
	}
	for _, it := range items {
		if it.Kind != kind {
			continue
		}
		if kind == catalog.KindPipeline {
			if it, err = p.pinTaskBundles(it); err != nil {
				return err
			}
		}
		pub, err := p.o.publishItem(ctx, p.root, p.cat, it)
		if err != nil {
			return err
		}
		p.rep.Bundles = append(p.rep.Bundles, *pub)
	}
	return nil
}

// pinTaskBundles rewrites a pipeline's task bundle references to the
// bundles in the catalog and returns the item read again when that
// changed the file.
func (p *publishRun) pinTaskBundles(it Item) (Item, error) {
	changed, err := rewrite(filepath.Join(p.root, it.Path), bundlePin, p.taskBundle)
	if err != nil {
		return it, err
	}
	if !changed {
		return it, nil
	}
	p.rep.Files = append(p.rep.Files, it.Path)
	return readItem(p.root, it.Path, it.Kind, it.Name)
}

// taskBundle is the catalog's bundle for a bundlePin match m of our
// registry, or m unchanged when there is none.
func (p *publishRun) taskBundle(m []string) string {
	if !p.ours(m[1]) {
		return m[0]
	}
	v := p.cat.FindFunc(catalog.KindTask, m[2], func(v *catalog.Version) bool {
		return catalog.BundleTag(v.Version) == m[3] && v.Bundle != ""
	})
	if v == nil {
		return m[0]
	}
	return v.Bundle
}

// present says whether d is in the registry and, when publish signs, has
// a signature beside it.
func (o *options) present(ctx context.Context, d name.Digest) bool {
	ropts := append([]remote.Option{remote.WithContext(ctx)}, o.remote...)
	if _, err := remote.Head(d, ropts...); err != nil {
		return false
	}
	if o.signer == nil {
		return true
	}
	_, err := remote.Head(cosignoci.SignatureTag(d), ropts...)
	return err == nil
}

func (o *options) ref(s string) (name.Reference, error) {
	var nopts []name.Option
	if o.insecure {
		nopts = append(nopts, name.Insecure)
	}
	return name.ParseReference(s, nopts...)
}

// publishItem pushes one version's bundle unless the catalog's current
// publication was built from the same bytes and is still in the registry.
func (o *options) publishItem(ctx context.Context, root string, c *catalog.Catalog, it Item) (*Published, error) {
	b, err := os.ReadFile(filepath.Join(root, it.Path))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	yamlDigest := "sha256:" + hex.EncodeToString(sum[:])
	v := c.Find(it.Kind, it.Name, it.Version)
	if v == nil {
		return nil, fmt.Errorf("%s: version %s not in the catalog after sync", it.Path, it.Version)
	}
	repo := catalog.BundleRepo(o.registry, it.Kind, it.Name)
	tag := catalog.BundleTag(it.Version)
	var cur *catalog.Publication
	for i := range v.Published {
		if v.Published[i].SupersededOn == "" {
			cur = &v.Published[i]
		}
	}
	if cur != nil && cur.YAMLDigest == yamlDigest && strings.HasPrefix(v.Bundle, repo+":") {
		d, err := o.ref(strings.SplitN(v.Bundle, ":"+tag+"@", 2)[0] + "@" + cur.Digest)
		if err == nil {
			if _, err := remote.Head(d, append([]remote.Option{remote.WithContext(ctx)}, o.remote...)...); err == nil {
				fmt.Fprintf(o.progress, "%s %s %s: unchanged (%s)\n", it.Kind, it.Name, it.Version, v.Bundle)
				return &Published{Kind: it.Kind, Name: it.Name, Version: it.Version, Bundle: v.Bundle}, nil
			}
		}
	}
	bopts := []bundle.Option{
		bundle.WithSource(o.sourceURL, o.commit),
		bundle.WithVersion(it.Version),
		bundle.WithCreated(o.created),
	}
	if o.sourceURL != "" && strings.HasPrefix(o.sourceURL, "https://") {
		bopts = append(bopts, bundle.WithDocumentation(strings.TrimSuffix(o.sourceURL, ".git")+"/blob/"+o.commit+"/"+filepath.ToSlash(filepath.Dir(it.Path))+"/README.md"))
	}
	img, _, err := bundle.Build([][]byte{b}, bopts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", it.Path, err)
	}
	moving, err := o.ref(repo + ":" + tag)
	if err != nil {
		return nil, err
	}
	d, err := bundle.Write(ctx, img, moving, o.remote)
	if err != nil {
		return nil, err
	}
	immutable, err := o.ref(repo + ":" + tag + "-" + o.commit)
	if err != nil {
		return nil, err
	}
	if err := remote.Tag(immutable.(name.Tag), img, append([]remote.Option{remote.WithContext(ctx)}, o.remote...)...); err != nil {
		return nil, fmt.Errorf("tagging %s: %w", immutable, err)
	}
	var deps []dependency
	for _, img := range it.StepImages {
		if i := strings.Index(img, "@sha256:"); i > 0 {
			deps = append(deps, dependency{URI: "oci://" + img[:i], Digest: map[string]string{"sha256": img[i+len("@sha256:"):]}, Name: "stepImage"})
		}
	}
	if err := o.sign(ctx, d, it.Path, deps); err != nil {
		return nil, err
	}
	now := o.now().UTC().Format(time.RFC3339)
	if cur == nil || cur.Digest != d.DigestStr() {
		if cur != nil {
			cur.SupersededOn = now
		}
		v.Published = append(v.Published, catalog.Publication{Digest: d.DigestStr(), On: now, Version: it.Version, Commit: o.commit,
			YAMLDigest: yamlDigest, Includes: includes(b)})
	} else {
		cur.YAMLDigest = yamlDigest
	}
	v.Bundle = repo + ":" + tag + "@" + d.DigestStr()
	v.ContentDigest = it.Content
	fmt.Fprintf(o.progress, "%s %s %s: pushed %s\n", it.Kind, it.Name, it.Version, v.Bundle)
	return &Published{Kind: it.Kind, Name: it.Name, Version: it.Version, Bundle: v.Bundle, Pushed: true}, nil
}

// BuildType is the SLSA build type of the provenance publish attaches.
const BuildType = "https://github.com/trustline-dev/trustline/catalog-publish/v1"

// BuilderID identifies trustline catalog publish as the builder.
const BuilderID = "https://github.com/trustline-dev/trustline/cmd/trustline/catalog-publish"

// sign signs d (cosign simple signing, .sig) and attests it with SLSA v1
// provenance (.att) naming the source commit, the file and what went
// into it, through the attest step's package: what cosign verify and
// cosign verify-attestation --type slsaprovenance1 check.
func (o *options) sign(ctx context.Context, d name.Digest, path string, deps []dependency) error {
	if o.signer == nil {
		return nil
	}
	body, err := json.Marshal(o.provenance(path, deps))
	if err != nil {
		return err
	}
	_, err = attest.Run(ctx, o.signer, attest.Request{
		Image: d, Sign: true,
		Predicates: []attest.Predicate{{Type: slsaV1, Body: body, Source: path}},
	}, attest.WithRemoteOptions(o.remote...))
	if err != nil {
		return fmt.Errorf("signing and attesting %s: %w", d, err)
	}
	return nil
}

const slsaV1 = "https://slsa.dev/provenance/v1"

type dependency struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
	Name   string            `json:"name,omitempty"`
}

func (o *options) provenance(path string, deps []dependency) map[string]any {
	src := dependency{URI: "git+" + o.sourceURL + "@" + o.commit, Digest: map[string]string{"gitCommit": o.commit}, Name: "source"}
	if len(o.commit) == 40 {
		src.Digest = map[string]string{"sha1": o.commit}
	}
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType":            BuildType,
			"externalParameters":   map[string]any{"source": o.sourceURL, "revision": o.commit, "path": path},
			"resolvedDependencies": append([]dependency{src}, deps...),
		},
		"runDetails": map[string]any{
			"builder": map[string]any{"id": BuilderID},
		},
	}
}

// source fills the commit and repository URL from the Git repository at
// root when they were not given.
func (o *options) source(root string) error {
	if o.commit != "" {
		return nil
	}
	repo, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return fmt.Errorf("finding the commit to record (%s is not in a Git repository; pass --commit): %w", root, err)
	}
	head, err := repo.Head()
	if err != nil {
		return fmt.Errorf("reading HEAD: %w", err)
	}
	o.commit = head.Hash().String()
	if o.sourceURL == "" {
		if r, err := repo.Remote("origin"); err == nil && len(r.Config().URLs) > 0 {
			o.sourceURL = r.Config().URLs[0]
		}
	}
	return nil
}

// rewrite replaces the matches of re in a file with what fn returns and
// writes it back (atomically) only if something changed.
func rewrite(path string, re *regexp.Regexp, fn func(m []string) string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	out := re.ReplaceAllFunc(b, func(m []byte) []byte {
		return []byte(fn(stringsOf(re.FindSubmatch(m))))
	})
	if bytes.Equal(out, b) {
		return false, nil
	}
	return true, outfile.Write(path, out)
}

func stringsOf(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

// includes lists the pinned library references in a YAML file, sorted.
func includes(b []byte) []string {
	seen := map[string]bool{}
	for _, re := range []*regexp.Regexp{stepPin, bundlePin} {
		for _, m := range re.FindAll(b, -1) {
			seen[string(m)] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func fileDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
