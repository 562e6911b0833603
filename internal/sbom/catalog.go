package sbom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/linux"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	// syft reads RPM databases (rpmdb.sqlite) through database/sql.
	_ "modernc.org/sqlite"

	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/sbom/layerfs"
)

// SyftVersion is the syft library the catalogers come from; it is part of
// every cache key, so a new syft never reuses an old catalog.
const SyftVersion = "v1.57.1"

// cacheFormat changes whenever what the cache holds changes meaning.
const cacheFormat = "trustline-sbom-cache/3"

// Catalog is what was found in one platform image.
type Catalog struct {
	// SBOM is the merged syft model: packages, their relationships and
	// the distribution. Its Source is left for the encoder to fill.
	SBOM *syftsbom.SBOM
	// Layers says, per layer, whether its catalog came from the cache.
	Layers []LayerStat
}

// LayerStat describes how one layer was handled.
type LayerStat struct {
	DiffID   string `json:"diffID"`
	Cached   bool   `json:"cached"`
	Packages int    `json:"packages"` // found in the layer, before squashing
	Kept     int    `json:"kept"`     // still visible in the image
	Skipped  int    `json:"skipped"`  // entries the unpacker did not write
}

// Packages returns the cataloged packages sorted by name, version and type.
func (c *Catalog) Packages() []pkg.Package {
	return c.SBOM.Artifacts.Packages.Sorted()
}

// layerInfo is the per-layer cache entry that does not depend on other
// layers: what the layer adds and deletes, and the os-release files it
// carries (which decide the distribution of the whole image).
type layerInfo struct {
	Format    string             `json:"format"`
	Listing   *layerfs.Listing   `json:"listing"`
	OSRelease map[string]osEntry `json:"osRelease,omitempty"`
}

type osEntry struct {
	Content []byte `json:"content,omitempty"`
	Link    string `json:"link,omitempty"` // absolute, cleaned target of a symbolic link
}

// osReleasePaths are where syft looks for the distribution, in its order.
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

type layerWork struct {
	layer  v1.Layer
	diffID v1.Hash
	key    string // layerKey: the cache name of this layer
	info   *layerInfo
	dir    string // unpacked root, "" when the layer came from the cache
	sbom   *syftsbom.SBOM
	cached bool
}

// CatalogImage catalogs a single-platform image layer by layer: each layer
// is unpacked into its own temporary directory and cataloged with syft's
// image catalogers; the results are squashed as the container runtime
// would (a package survives only if the files it was found in are not
// replaced or deleted by a higher layer). With WithCacheDir, layers seen
// before are not read at all.
func CatalogImage(ctx context.Context, img v1.Image, opts ...Option) (*Catalog, error) {
	o := makeOptions(opts)
	work, err := imageLayers(img)
	if err != nil {
		return nil, err
	}
	tmp, err := newScratch(o.tmpDir, o.spillDir)
	if err != nil {
		return nil, err
	}
	// Every layer either phase unpacks lives below tmp: this one removal
	// covers them all, whichever way the call ends.
	defer tmp.remove()
	r := &catalogRun{o: &o, tmp: tmp, work: work}
	if err := r.readLayers(ctx); err != nil {
		return nil, err
	}
	r.osRelease = resolveOSRelease(work)
	if err := r.catalogLayers(ctx); err != nil {
		return nil, err
	}
	return merge(work), nil
}

// catalogRun is one CatalogImage call: what its phases share.
type catalogRun struct {
	o    *options
	tmp  *scratch
	work []*layerWork
	// osRelease is the distribution of the squashed image, known once
	// every layer has been read.
	osRelease []byte
}

// imageLayers names each layer of img by its digests, before any is read.
func imageLayers(img v1.Image) ([]*layerWork, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading image layers: %w", err)
	}
	work := make([]*layerWork, len(layers))
	for i, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("layer %d: diff ID: %w", i, err)
		}
		dg, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("layer %d: digest: %w", i, err)
		}
		work[i] = &layerWork{layer: l, diffID: d, key: layerKey(dg, d)}
	}
	return work, nil
}

// readLayers learns what each layer holds, from the cache or by unpacking
// it. A layer that is unpacked will be cataloged: the licence scanner (a
// CPU second to build) is then built while layers download and unpack,
// not after.
func (r *catalogRun) readLayers(ctx context.Context) error {
	prepareLicenses := sync.OnceFunc(func() { go licenseCtx(context.Background()) })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.o.parallelism)
	for i, w := range r.work {
		g.Go(func() error {
			if info := loadInfo(r.o.cacheDir, w.key); info != nil {
				w.info = info
				return nil
			}
			prepareLicenses()
			return r.tmp.unpack(gctx, r.o, i, w)
		})
	}
	return g.Wait()
}

// catalogLayers catalogs every layer with the image's distribution.
func (r *catalogRun) catalogLayers(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.o.parallelism)
	for i, w := range r.work {
		g.Go(func() error { return r.catalogLayer(gctx, i, w) })
	}
	return g.Wait()
}

// catalogLayer fills w.sbom from the cache, or by running syft on the
// layer's unpacked tree (unpacking it first when only its listing was
// cached), and caches what syft found.
func (r *catalogRun) catalogLayer(ctx context.Context, i int, w *layerWork) error {
	key := packagesKey(w.key, r.osRelease)
	if s := loadPackages(r.o.cacheDir, key); s != nil {
		w.sbom, w.cached = s, true
		return nil
	}
	if w.dir == "" { // info was cached, packages were not
		if err := r.tmp.unpack(ctx, r.o, i, w); err != nil {
			return err
		}
	}
	start := time.Now()
	lctx, err := licenseCtx(ctx)
	if err != nil {
		return err
	}
	s, err := catalogDir(lctx, w.dir, r.osRelease, r.o.parallelism)
	if err != nil {
		return fmt.Errorf("layer %d (%s): cataloging: %w", i, w.diffID, err)
	}
	os.RemoveAll(filepath.Dir(w.dir))
	raw, err := throughCache(w, s)
	if err != nil {
		return fmt.Errorf("layer %d (%s): %w", i, w.diffID, err)
	}
	storeFile(r.o.cacheDir, "packages-"+key+".json", raw)
	fmt.Fprintf(r.o.progress, "layer %d/%d %s: %d packages in %s\n", i+1, len(r.work), short(w.diffID),
		w.sbom.Artifacts.Packages.PackageCount(), time.Since(start).Round(time.Millisecond))
	return nil
}

// throughCache sets w.sbom to s as the cache would give it back, so a
// cold run and a warm run merge identical inputs, and returns the cache
// entry.
func throughCache(w *layerWork, s *syftsbom.SBOM) ([]byte, error) {
	raw, err := encodeSyft(s)
	if err != nil {
		return nil, err
	}
	if w.sbom, err = decodeSyft(raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// The licence scanner costs about a CPU second to build (it compiles
// every licence text into one automaton): build it once per process, and
// only when a layer needs cataloging, then lend its context values to
// each call.
var (
	scanOnce sync.Once
	scanCtx  context.Context
	scanErr  error
)

func licenseCtx(ctx context.Context) (context.Context, error) {
	scanOnce.Do(func() {
		scanCtx, scanErr = syft.SetContextLicenseScanner(context.Background(), cataloging.DefaultLicenseConfig())
	})
	if scanErr != nil {
		return nil, scanErr
	}
	return valuesFrom{ctx, scanCtx}, nil
}

// valuesFrom is ctx (deadline, cancellation, values) with the values of
// extra as a fallback.
type valuesFrom struct {
	context.Context
	extra context.Context
}

func (v valuesFrom) Value(key any) any {
	if x := v.Context.Value(key); x != nil {
		return x
	}
	return v.extra.Value(key)
}

func short(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Algorithm + ":" + h.Hex[:12]
	}
	return h.String()
}

// unpack extracts one layer into tmp and fills w.info and w.dir.
func unpack(ctx context.Context, o *options, i int, w *layerWork, tmp string) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	// This layer will be cataloged: build the licence scanner now, on
	// the other core, while the layer downloads and unpacks.
	go licenseCtx(context.Background()) //nolint:errcheck // the error is met again when cataloging
	start := time.Now()
	dir, err := os.MkdirTemp(tmp, "layer-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir) // frees the space for the spill directory
		}
	}()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	// Nothing unpacked is trusted, cached or cataloged before the
	// layer's bytes are proven to be the ones its digests name.
	vl, err := openVerified(w.layer)
	if err != nil {
		return fmt.Errorf("layer %d (%s): %w", i, w.diffID, err)
	}
	listing, err := layerfs.Extract(vl, root, append([]layerfs.Option{layerfs.WithSkipContent(irrelevant)}, o.limits...)...)
	if err != nil && !errors.Is(err, layerfs.ErrLimit) {
		if m := vl.CompressedMismatch(); m != nil {
			err = m // a tampered blob, not a broken archive
		}
	}
	if err == nil {
		err = vl.Verify()
	}
	vl.Close()
	if err != nil {
		return fmt.Errorf("layer %d (%s): %w", i, w.diffID, err)
	}
	info := &layerInfo{Format: cacheFormat, Listing: listing, OSRelease: map[string]osEntry{}}
	for _, p := range osReleasePaths {
		if _, ok := listing.Entries[p]; !ok {
			continue
		}
		host := filepath.Join(root, p)
		fi, err := os.Lstat(host)
		if err != nil {
			continue
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(host)
			if err == nil {
				info.OSRelease[p] = osEntry{Link: path.Clean(path.Join(path.Dir(p), t))}
			}
		case fi.Mode().IsRegular() && fi.Size() < 64<<10:
			b, err := os.ReadFile(host)
			if err == nil {
				info.OSRelease[p] = osEntry{Content: b}
			}
		}
	}
	w.info, w.dir = info, root
	if raw, err := json.Marshal(info); err == nil {
		storeFile(o.cacheDir, "layer-"+w.key+".json", raw)
	}
	fmt.Fprintf(o.progress, "layer %d %s: unpacked %d entries in %s\n", i+1, short(w.diffID), len(listing.Entries), time.Since(start).Round(time.Millisecond))
	return nil
}

// resolveOSRelease finds the os-release the squashed image shows, following
// links between the two well-known paths.
func resolveOSRelease(work []*layerWork) []byte {
	lookup := func(p string) (osEntry, bool) {
		for j := len(work) - 1; j >= 0; j-- {
			info := work[j].info
			if e, ok := info.OSRelease[p]; ok {
				return e, true
			}
			if info.Listing.Hidden(p) {
				return osEntry{}, false // replaced by something unreadable, or deleted
			}
		}
		return osEntry{}, false
	}
	for _, p := range osReleasePaths {
		for hop := 0; hop < 4; hop++ {
			e, ok := lookup(p)
			if !ok {
				break
			}
			if e.Link == "" {
				return e.Content
			}
			p = e.Link
		}
	}
	return nil
}

// catalogDir runs syft's image catalogers over one unpacked layer. The
// image's os-release replaces the layer's own, so that every layer is
// cataloged with the distribution of the image (it decides the PURLs of
// OS packages), as syft does on a squashed image.
func catalogDir(ctx context.Context, root string, osRelease []byte, parallelism int) (*syftsbom.SBOM, error) {
	for _, p := range osReleasePaths {
		host := filepath.Join(root, p)
		if fi, err := os.Lstat(host); err == nil && !fi.IsDir() {
			if err := os.Remove(host); err != nil {
				return nil, err
			}
		}
	}
	if osRelease != nil {
		etc := filepath.Join(root, "etc")
		fi, err := os.Lstat(etc)
		if errors.Is(err, os.ErrNotExist) {
			err = os.Mkdir(etc, 0o755)
		} else if err == nil && !fi.IsDir() {
			err = fmt.Errorf("/etc is not a directory")
		}
		if err == nil {
			f, ferr := os.OpenFile(filepath.Join(etc, "os-release"), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
			if ferr == nil {
				_, ferr = f.Write(osRelease)
				f.Close()
			}
			err = ferr
		}
		_ = err // a layer whose /etc is not a directory is cataloged without a distribution
	}
	src, err := directorysource.New(directorysource.Config{Path: root, Base: root})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	cfg := syft.DefaultCreateSBOMConfig().
		WithCatalogerSelection(cataloging.NewSelectionRequest().WithDefaults(pkgcataloging.ImageTag)).
		WithoutFiles().
		WithParallelism(parallelism)
	return syft.CreateSBOM(ctx, src, cfg)
}

func encodeSyft(s *syftsbom.SBOM) ([]byte, error) {
	// Only what the merge needs: packages, their relationships, the
	// distribution. Directory-source details would differ per layer dir.
	keep := syftsbom.SBOM{
		Artifacts: syftsbom.Artifacts{
			Packages:          s.Artifacts.Packages,
			LinuxDistribution: s.Artifacts.LinuxDistribution,
		},
		Relationships: packageRelationships(s.Relationships),
		Source:        source.Description{ID: "layer", Name: "layer", Metadata: source.DirectoryMetadata{Path: "/"}},
		Descriptor:    syftsbom.Descriptor{Name: "trustline-sbom-cache", Version: SyftVersion},
	}
	var buf bytes.Buffer
	if err := syftjson.NewFormatEncoder().Encode(&buf, keep); err != nil {
		return nil, fmt.Errorf("encoding layer catalog: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeSyft(raw []byte) (*syftsbom.SBOM, error) {
	s, _, _, err := syftjson.NewFormatDecoder().Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decoding layer catalog: %w", err)
	}
	return s, nil
}

func packageRelationships(rels []artifact.Relationship) []artifact.Relationship {
	var out []artifact.Relationship
	for _, r := range rels {
		_, fromPkg := r.From.(pkg.Package)
		_, toPkg := r.To.(pkg.Package)
		if fromPkg && toPkg {
			out = append(out, r)
		}
	}
	return out
}

func packagesKey(layerKey string, osRelease []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", cacheFormat, SyftVersion, layerKey)
	h.Write(osRelease)
	return hex.EncodeToString(h.Sum(nil))
}

// layerKey names a layer in the cache by its compressed digest and its
// diff_id together. An entry is stored only after unpacking proved that
// the blob with that digest decompresses to that diff_id, so a config
// that claims another image's diff_id for its own blob never meets (or
// writes) the other image's entry. The compressed digest is the one the
// manifest names, and the blob is checked against it when read.
func layerKey(digest, diffID v1.Hash) string {
	h := sha256.Sum256([]byte(digest.String() + "\x00" + diffID.String()))
	return hex.EncodeToString(h[:])
}

func loadInfo(dir, key string) *layerInfo {
	if dir == "" {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(dir, "layer-"+key+".json"))
	if err != nil {
		return nil
	}
	var info layerInfo
	if json.Unmarshal(raw, &info) != nil || info.Format != cacheFormat || info.Listing == nil {
		return nil // unreadable or old entries are recomputed
	}
	if info.Listing.Entries == nil {
		info.Listing.Entries = map[string]bool{}
	}
	return &info
}

func loadPackages(dir, key string) *syftsbom.SBOM {
	if dir == "" {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(dir, "packages-"+key+".json"))
	if err != nil {
		return nil
	}
	s, err := decodeSyft(raw)
	if err != nil {
		return nil
	}
	return s
}

// storeFile writes a cache entry atomically; a cache that cannot be written
// only costs time later, so errors are dropped.
func storeFile(dir, name string, raw []byte) {
	if dir == "" {
		return
	}
	_ = outfile.Write(filepath.Join(dir, name), raw, outfile.WithParents())
}

// merge squashes the per-layer catalogs.
func merge(work []*layerWork) *Catalog {
	// dropped is passed, not kept in sq, so that it stays on the stack.
	var sq squashed
	dropped := map[string][]pkg.Package{} // by type/name/version, for licences
	for i := range work {
		sq.addLayer(work, i, dropped)
	}
	// ids is the set of coll's IDs: asking coll itself (Package) would
	// deep-copy a package per question.
	ids := map[artifact.ID]bool{}
	coll := sq.collect(dropped, ids)
	rels := keptRelationships(work, coll, ids)
	sortRelationships(rels)
	return &Catalog{
		SBOM: &syftsbom.SBOM{
			Artifacts:     syftsbom.Artifacts{Packages: coll, LinuxDistribution: imageDistro(work)},
			Relationships: rels,
		},
		Layers: sq.layers,
	}
}

// squashed is what each layer found, and the packages the image still
// shows the files of.
type squashed struct {
	layers []LayerStat
	kept   []keptPackage
}

type keptPackage struct {
	p     pkg.Package
	layer int
}

// addLayer sorts the packages of layer i into kept and dropped.
func (sq *squashed) addLayer(work []*layerWork, i int, dropped map[string][]pkg.Package) {
	w := work[i]
	st := LayerStat{DiffID: w.diffID.String(), Cached: w.cached, Skipped: len(w.info.Listing.Skipped)}
	for _, p := range w.sbom.Artifacts.Packages.Sorted() {
		st.Packages++
		if visible(work, i, evidence(p)) {
			st.Kept++
			sq.kept = append(sq.kept, keptPackage{p, i})
		} else {
			k := identity(p)
			dropped[k] = append(dropped[k], p)
		}
	}
	sq.layers = append(sq.layers, st)
}

// collect adds each kept package once to a collection, and its ID to ids.
func (sq *squashed) collect(dropped map[string][]pkg.Package, ids map[artifact.ID]bool) *pkg.Collection {
	coll := pkg.NewCollection()
	for _, f := range sq.kept {
		p := f.p
		if ids[p.ID()] {
			continue
		}
		if p.Licenses.Empty() {
			borrowLicenses(&p, dropped[identity(p)])
		}
		ids[p.ID()] = true
		coll.Add(p)
	}
	return coll
}

// borrowLicenses gives p the licences of the first dropped package of its
// identity that has any, keeping p's ID. A higher layer that rewrote a
// package database (dpkg's status) lists lower packages again, without
// the copyright files that stayed below.
func borrowLicenses(p *pkg.Package, dropped []pkg.Package) {
	for _, q := range dropped {
		if !q.Licenses.Empty() {
			id := p.ID()
			p.Licenses = pkg.NewLicenseSet(q.Licenses.ToSlice()...)
			p.OverrideID(id)
			return
		}
	}
}

// keptRelationships returns, once each, the relationships whose two ends
// were both kept.
func keptRelationships(work []*layerWork, coll *pkg.Collection, ids map[artifact.ID]bool) []artifact.Relationship {
	var rels []artifact.Relationship
	seen := map[string]bool{}
	for _, w := range work {
		for _, r := range w.sbom.Relationships {
			from, fok := r.From.(pkg.Package)
			to, tok := r.To.(pkg.Package)
			if !fok || !tok || !ids[from.ID()] || !ids[to.ID()] {
				continue
			}
			k := string(from.ID()) + "|" + string(r.Type) + "|" + string(to.ID())
			if seen[k] {
				continue
			}
			seen[k] = true
			// Point at the kept package objects (licences may differ).
			rels = append(rels, artifact.Relationship{From: *coll.Package(from.ID()), To: *coll.Package(to.ID()), Type: r.Type, Data: r.Data})
		}
	}
	return rels
}

// sortRelationships orders rels by source, target and type.
func sortRelationships(rels []artifact.Relationship) {
	sort.SliceStable(rels, func(i, j int) bool {
		a, b := rels[i], rels[j]
		if a.From.ID() != b.From.ID() {
			return a.From.ID() < b.From.ID()
		}
		if a.To.ID() != b.To.ID() {
			return a.To.ID() < b.To.ID()
		}
		return a.Type < b.Type
	})
}

// imageDistro is the distribution the lowest layer that names one found.
func imageDistro(work []*layerWork) *linux.Release {
	for _, w := range work {
		if d := w.sbom.Artifacts.LinuxDistribution; d != nil {
			return d
		}
	}
	return nil
}

func identity(p pkg.Package) string {
	return string(p.Type) + "\x00" + p.Name + "\x00" + p.Version
}

// evidence returns the paths a package was found in: the primary evidence
// if syft marked it, else every location.
func evidence(p pkg.Package) []string {
	var primary, all []string
	for _, l := range p.Locations.ToSlice() {
		all = append(all, l.RealPath)
		if l.Annotations[pkg.EvidenceAnnotationKey] == pkg.PrimaryEvidenceAnnotation {
			primary = append(primary, l.RealPath)
		}
	}
	if len(primary) > 0 {
		return primary
	}
	return all
}

// visible reports whether every path, present in layer i, survives the
// layers above it.
func visible(work []*layerWork, i int, paths []string) bool {
	for _, p := range paths {
		p = path.Clean("/" + p)
		for j := i + 1; j < len(work); j++ {
			if work[j].info.Listing.Hidden(p) {
				return false
			}
		}
	}
	return true
}
