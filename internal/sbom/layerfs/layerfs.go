// Package layerfs unpacks one image layer, which an attacker may have
// written, into a directory that the cataloger then reads. It never writes
// outside that directory: entry names are cleaned against the root, links
// are rewritten to relative targets that cannot climb out of it, nothing is
// written through a symbolic link, device files and FIFOs are skipped, and
// sizes are capped so a decompression bomb ends in an error instead of a
// full disk. It also lists what the layer adds and deletes (whiteouts), so
// the caller can squash layers without reading them again.
package layerfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Defaults for the limits; each has an option.
const (
	DefaultMaxFileSize  int64 = 2 << 30  // a single file bigger than this is listed but not written
	DefaultMaxTotalSize int64 = 32 << 30 // a layer that expands beyond this is refused
	DefaultMaxEntries         = 2_000_000
)

// ErrLimit is wrapped by the error returned when a layer exceeds a limit.
var ErrLimit = errors.New("layer exceeds a size limit")

// Listing says what a layer does to the file system, in absolute, cleaned
// paths ("/etc/os-release").
type Listing struct {
	// Entries are the paths the layer adds or replaces, with whether each
	// is a directory.
	Entries map[string]bool `json:"entries"`
	// Whiteouts are paths the layer deletes from lower layers.
	Whiteouts []string `json:"whiteouts,omitempty"`
	// Opaque are directories whose lower-layer contents the layer hides.
	Opaque []string `json:"opaque,omitempty"`
	// Skipped are entries not written, with the reason (devices, files
	// over the size limit, entries below a symbolic link).
	Skipped []Skip `json:"skipped,omitempty"`
	// Omitted counts regular files not written because WithSkipContent
	// said no reader needs them.
	Omitted int `json:"omitted,omitempty"`
}

// Skip records an entry that was not written.
type Skip struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

type options struct {
	maxFileSize  int64
	maxTotalSize int64
	maxEntries   int
	skipContent  func(p string) bool
}

// Option configures Extract.
type Option func(*options)

// WithMaxFileSize sets the size above which a regular file is listed but
// not written (default DefaultMaxFileSize). Catalogers never need such
// files in full, and skipping them keeps a single huge entry from filling
// the disk.
func WithMaxFileSize(n int64) Option { return func(o *options) { o.maxFileSize = n } }

// WithMaxTotalSize sets how many uncompressed bytes a layer may hold in
// total before Extract gives up with ErrLimit (default
// DefaultMaxTotalSize). It bounds the time and disk a decompression bomb
// can cost.
func WithMaxTotalSize(n int64) Option { return func(o *options) { o.maxTotalSize = n } }

// WithMaxEntries sets how many tar entries a layer may have (default
// DefaultMaxEntries); the listing grows with the entry count.
func WithMaxEntries(n int) Option { return func(o *options) { o.maxEntries = n } }

// WithSkipContent names regular files that are listed (they still replace
// lower-layer files) but not written, because no reader of the unpacked
// tree needs them. Creating files is the dominant cost of unpacking a
// layer of tens of thousands of small files (JavaScript sources, man
// pages). Default: every file is written.
func WithSkipContent(skip func(p string) bool) Option {
	return func(o *options) { o.skipContent = skip }
}

// Extract reads an uncompressed layer tar from r and writes it below root,
// which must be an existing, empty directory. It returns what the layer
// adds and deletes. On error, root may hold part of the layer: the caller
// owns root and removes it.
func Extract(r io.Reader, root string, opts ...Option) (*Listing, error) {
	o := options{maxFileSize: DefaultMaxFileSize, maxTotalSize: DefaultMaxTotalSize, maxEntries: DefaultMaxEntries}
	for _, opt := range opts {
		opt(&o)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	x := &extractor{root: root, opts: o, l: &Listing{Entries: map[string]bool{}}, written: map[string]kind{}, buf: make([]byte, 256<<10)}
	tr := tar.NewReader(r)
	var total int64
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer tar (entry %d): %w", n, err)
		}
		if n >= o.maxEntries {
			return nil, fmt.Errorf("more than %d entries: %w", o.maxEntries, ErrLimit)
		}
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA || hdr.Typeflag == tar.TypeGNUSparse {
			// Count the declared size even when the file is skipped:
			// reading past it still costs the decompression.
			total += max(hdr.Size, 0)
			if total > o.maxTotalSize {
				return nil, fmt.Errorf("more than %d uncompressed bytes: %w", o.maxTotalSize, ErrLimit)
			}
		}
		if err := x.entry(hdr, tr); err != nil {
			return nil, fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	sort.Strings(x.l.Whiteouts)
	sort.Strings(x.l.Opaque)
	return x.l, nil
}

type extractor struct {
	root string
	opts options
	l    *Listing
	// written records what this extractor put below root, by image path.
	// root starts empty and nothing else writes there, so the map is the
	// tree's true state: no entry costs an Lstat per path component, and
	// a directory is created only when something is written below it
	// (most directories of a layer hold only files no reader needs, and
	// mkdir is the most expensive call on a journaling disk).
	written map[string]kind
	// buf is reused for every file's content.
	buf []byte
}

// kind is what stands at a path below the root.
type kind uint8

const (
	kindDir kind = iota + 1
	kindFile
	kindOther // a symbolic link
)

// Clean maps an entry name to an absolute path inside the layer's root:
// ".." cannot climb above "/", as in a chroot.
func Clean(name string) string {
	return path.Clean("/" + strings.TrimPrefix(name, "./"))
}

func (x *extractor) skip(p, reason string) {
	x.l.Skipped = append(x.l.Skipped, Skip{Path: p, Reason: reason})
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	p := Clean(hdr.Name)
	if p == "/" {
		return nil
	}
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	// Whiteouts (OCI image spec, layer changesets).
	if base == ".wh..wh..opq" {
		x.l.Opaque = append(x.l.Opaque, dir)
		return nil
	}
	if strings.HasPrefix(base, ".wh.") {
		x.l.Whiteouts = append(x.l.Whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		x.l.Entries[p] = true
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeSymlink, tar.TypeLink:
		x.l.Entries[p] = false
	default:
		// Character and block devices, FIFOs: listed (they replace
		// lower files) but never created.
		x.l.Entries[p] = false
		x.skip(p, fmt.Sprintf("tar type %q not written", hdr.Typeflag))
		return nil
	}
	if x.opts.skipContent != nil && (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) && x.opts.skipContent(p) {
		x.l.Omitted++
		return nil
	}
	var parent string
	ok := true
	if hdr.Typeflag == tar.TypeDir {
		parent, ok = filepath.Join(x.root, dir), !x.blocked(dir)
	} else {
		var err error
		if parent, ok, err = x.mkdirs(dir); err != nil {
			return err
		}
	}
	if !ok {
		x.skip(p, "a parent directory is not a directory in this layer")
		return nil
	}
	target := filepath.Join(parent, base)
	err := x.write(hdr, r, p, dir, target)
	if errors.Is(err, errNotEmpty) {
		x.skip(p, err.Error())
		return nil
	}
	return err
}

func (x *extractor) write(hdr *tar.Header, r io.Reader, p, dir, target string) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		// Listed, and created when something below it is written.
		if x.written[p] == kindDir {
			return nil
		}
		return x.free(p, target)
	case tar.TypeSymlink:
		if err := x.free(p, target); err != nil {
			return err
		}
		if err := os.Symlink(x.linkTarget(dir, hdr.Linkname), target); err != nil {
			return err
		}
		x.written[p] = kindOther
		return nil
	case tar.TypeLink:
		src := Clean(hdr.Linkname)
		if x.written[src] != kindFile {
			x.skip(p, "hard link source is not a regular file written from this layer")
			return nil
		}
		if err := x.free(p, target); err != nil {
			return err
		}
		if err := os.Link(filepath.Join(x.root, src), target); err != nil {
			return err
		}
		x.written[p] = kindFile
		return nil
	default:
		if hdr.Size > x.opts.maxFileSize {
			x.skip(p, fmt.Sprintf("%d bytes, over the %d-byte file limit", hdr.Size, x.opts.maxFileSize))
			return nil
		}
		if err := x.free(p, target); err != nil {
			return err
		}
		mode := uint32(0o644)
		if hdr.Mode&0o111 != 0 {
			mode = 0o755
		}
		// O_NOFOLLOW|O_EXCL: never open through a link, nor a name
		// anything else put there. A plain blocking descriptor: a
		// regular file gains nothing from the runtime's poller, which
		// would cost two more calls per file.
		fd, err := syscall.Open(target, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, mode)
		if err != nil {
			return &os.PathError{Op: "open", Path: target, Err: err}
		}
		f := os.NewFile(uintptr(fd), target)
		x.written[p] = kindFile
		_, err = io.CopyBuffer(writerOnly{f}, io.LimitReader(r, hdr.Size), x.buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
}

// writerOnly hides *os.File's ReadFrom, which would ignore the reused
// buffer and copy through a small one of its own.
type writerOnly struct{ io.Writer }

// linkTarget rewrites a symbolic link found at dir so that it is relative
// and, resolved lexically from dir with chroot semantics, stays inside the
// root. Because no directory on the way is itself a link (mkdirs
// guarantees it), the kernel resolves it inside the root too.
func (x *extractor) linkTarget(dir, linkname string) string {
	var abs string
	if path.IsAbs(linkname) {
		abs = path.Clean(linkname)
	} else {
		abs = path.Clean(path.Join(dir, linkname)) // Clean stops ".." at "/"
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return "."
	}
	return rel
}

// mkdirs makes sure every component of dir exists as a real directory (not
// a link) below the root and returns its host path. ok is false when a
// component is something else: the entry is then skipped, so nothing is
// ever written through a link.
func (x *extractor) mkdirs(dir string) (string, bool, error) {
	if dir == "/" {
		return x.root, true, nil
	}
	host := filepath.Join(x.root, dir)
	if x.written[dir] == kindDir {
		return host, true, nil
	}
	for prefix := range ancestry(dir) {
		switch x.written[prefix] {
		case kindDir:
			continue
		case 0:
			if err := os.Mkdir(filepath.Join(x.root, prefix), 0o755); err != nil {
				return "", false, err
			}
			x.written[prefix] = kindDir
		default:
			return "", false, nil
		}
	}
	return host, true, nil
}

// blocked reports whether a component of dir is written as something
// other than a directory, so nothing may be placed below it.
func (x *extractor) blocked(dir string) bool {
	for prefix := range ancestry(dir) {
		if k := x.written[prefix]; k != 0 && k != kindDir {
			return true
		}
	}
	return false
}

// ancestry yields "/a", "/a/b", "/a/b/c" for dir "/a/b/c", outermost first.
func ancestry(dir string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 1; i <= len(dir); i++ {
			if (i == len(dir) || dir[i] == '/') && !yield(dir[:i]) {
				return
			}
		}
	}
}

// free makes the name p (host path target) available for a new entry. A
// later entry replaces an earlier one with the same name in the same
// layer; a directory with contents is replaced only if it is empty
// (docker does the same).
func (x *extractor) free(p, target string) error {
	switch x.written[p] {
	case 0:
		return nil
	case kindDir:
		if err := os.Remove(target); err != nil {
			return errNotEmpty
		}
	default:
		if err := os.Remove(target); err != nil {
			return err
		}
	}
	delete(x.written, p)
	return nil
}

// errNotEmpty: an entry would replace a directory that has contents; the
// entry is skipped rather than the layer refused.
var errNotEmpty = errors.New("replaces a non-empty directory")

// Hidden reports whether path p, present in a lower layer, is hidden or
// replaced by this layer.
func (l *Listing) Hidden(p string) bool {
	if _, ok := l.Entries[p]; ok {
		return true
	}
	for _, w := range l.Whiteouts {
		if w == p || strings.HasPrefix(p, w+"/") {
			return true
		}
	}
	for _, d := range l.Opaque {
		if strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	// An ancestor replaced by something that is not a directory.
	for a := path.Dir(p); a != "/" && a != "."; a = path.Dir(a) {
		if isDir, ok := l.Entries[a]; ok && !isDir {
			return true
		}
	}
	return false
}
