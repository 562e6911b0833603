package osvdb

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Opening the database for the packages of one SBOM. An ecosystem's zip
// holds thousands of records (Go 4,291, AlmaLinux 5,680) of which an
// SBOM names a few hundred, and parsing a record costs far more than
// decompressing it. So compileFor reads only the ecosystems the SBOM
// names, and in each zip compiles only the records that name one of its
// packages: a cheap pre-pass decompresses every record and picks out the
// string values of its "name" keys, without decoding the rest of the
// JSON. The pre-pass's result, which records name which packages, is
// cached per zip, keyed by the zip's SHA-256, so a later scan decompresses
// only the records it needs and a changed database is never read through
// a stale index.
//
// Skipping ecosystems is exact because osv.dev exports a record into the
// zip of every ecosystem it affects; the name filter is exact because a
// record can only affect a package whose name is the value of a "name"
// key in it (it also keeps records that name it elsewhere, as credits do,
// which compile to nothing for that package).

// DefaultCacheDirs is where a scan keeps the name index of the database
// in dbDir when not told: beside the database (dbDir/.trustline-cache, so
// that every scan sharing the database volume shares it), else, when that
// cannot be written, the user's cache directory (in a Tekton step, its
// home volume).
func DefaultCacheDirs(dbDir string) []string {
	dirs := []string{filepath.Join(dbDir, ".trustline-cache")}
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "trustline", "osv"))
	}
	return dirs
}

// namesFormat changes whenever the cache layout or what it holds changes.
const namesFormat = 2

// compileFor compiles the records that name one of o.packages.
func compileFor(srcs []source, o options) (*Index, error) {
	bases, names := map[string]bool{}, map[string]bool{}
	for _, p := range o.packages {
		base, _, _ := strings.Cut(p.Ecosystem, ":")
		bases[base] = true
		names[p.Name] = true
	}
	ix := &Index{packages: map[string][]Entry{}}
	for _, s := range srcs {
		ix.Ecosystems = append(ix.Ecosystems, s.ecosystem)
		if !bases[s.ecosystem] {
			continue
		}
		var err error
		if s.zip != "" {
			err = ix.addFromZip(s, names, o)
		} else {
			err = ix.addFromFiles(s, names, o)
		}
		if err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// addFromZip adds the records of one zip that name one of names, through
// the cached name index when there is a current one.
func (ix *Index) addFromZip(s source, names map[string]bool, o options) error {
	z, err := openZip(s)
	if err != nil {
		return err
	}
	idx, where, why := readNames(o.cacheDirs, z.ecosystem, z.digest, len(z.entries))
	if idx != nil {
		return ix.addIndexed(z, idx, where, names, o)
	}
	return ix.addUnindexed(z, why, names, o)
}

// zipDB is one ecosystem's zip, held in memory: its digest keys the name
// index, whose entry numbers index entries.
type zipDB struct {
	path, ecosystem string
	digest          [sha256.Size]byte
	entries         []*zip.File
}

func openZip(s source) (zipDB, error) {
	data, err := os.ReadFile(s.zip)
	if err != nil {
		return zipDB{}, fmt.Errorf("reading OSV database: %w", err)
	}
	digest := sha256.Sum256(data)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return zipDB{}, fmt.Errorf("OSV database %s is corrupt: %w", s.zip, err)
	}
	return zipDB{path: s.zip, ecosystem: s.ecosystem, digest: digest, entries: zr.File}, nil
}

// addIndexed adds the records that idx says name one of names, so that
// only those are decompressed.
func (ix *Index) addIndexed(z zipDB, idx *nameIndex, where string, names map[string]bool, o options) error {
	wanted := idx.entries(names)
	recs := make([]*compiled, len(wanted))
	errs := make([]error, len(wanted))
	parallel(len(wanted), func(i int) {
		f := z.entries[wanted[i]]
		b, err := readEntry(z.path, f, nil)
		if err != nil {
			errs[i] = err
			return
		}
		recs[i], errs[i] = compileRaw(rawRecord{where: z.path + ":" + f.Name, data: b})
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, c := range recs {
		ix.add(c)
	}
	fmt.Fprintf(o.progress, "osv: %s: %d of %d records name a package scanned (name index %s)\n",
		z.ecosystem, len(wanted), idx.records, where)
	return nil
}

// addUnindexed adds the records that name one of names when there is no
// current name index (why says so), and caches the index the pre-pass
// builds for the next scan.
func (ix *Index) addUnindexed(z zipDB, why string, names map[string]bool, o options) error {
	built, hits, err := ix.addPrePassed(z, prePass(z, names))
	if err != nil {
		return err
	}
	saved, err := writeNames(o.cacheDirs, z.ecosystem, built)
	if err != nil {
		return err
	}
	note := "no cache"
	if saved != "" {
		note = "name index written to " + saved
	} else if len(o.cacheDirs) > 0 {
		note = "no cache directory could be written"
	}
	fmt.Fprintf(o.progress, "osv: %s: %d of %d records name a package scanned (%s; %s)\n", z.ecosystem, hits, built.records, why, note)
	return nil
}

// prePassed is what the pre-pass found in one zip entry.
type prePassed struct {
	names []string
	hit   bool // one of names is a package scanned (rec may still be nil: withdrawn)
	rec   *compiled
	err   error
}

// prePass decompresses every record and picks out its names; the records
// naming a package scanned are compiled on the way.
func prePass(z zipDB, names map[string]bool) []prePassed {
	results := make([]prePassed, len(z.entries))
	bufs := make(chan []byte, 8)
	parallel(len(z.entries), func(i int) {
		f := z.entries[i]
		if !isRecord(f) {
			return
		}
		var buf []byte
		select {
		case buf = <-bufs:
		default:
		}
		r := &results[i]
		b, err := readEntry(z.path, f, buf)
		if err != nil {
			r.err = err
			return
		}
		nameValues(b, func(n string) {
			r.names = append(r.names, n)
			r.hit = r.hit || names[n]
		})
		if r.hit {
			r.rec, r.err = compileRaw(rawRecord{where: z.path + ":" + f.Name, data: b})
		}
		select {
		case bufs <- b:
		default:
		}
	})
	return results
}

// addPrePassed adds the records the pre-pass compiled, in entry order,
// and builds the name index from the names it found; it also counts the
// records naming a package scanned.
func (ix *Index) addPrePassed(z zipDB, results []prePassed) (*nameIndex, int, error) {
	built := &nameIndex{digest: z.digest, files: len(z.entries), byName: map[string][]uint32{}}
	hits := 0
	for i, r := range results {
		if r.err != nil {
			return nil, 0, r.err
		}
		if !isRecord(z.entries[i]) {
			continue
		}
		built.records++
		seen := map[string]bool{}
		for _, n := range r.names {
			if !seen[n] {
				seen[n] = true
				built.byName[n] = append(built.byName[n], uint32(i))
			}
		}
		if r.hit {
			hits++
		}
		ix.add(r.rec)
	}
	if built.records == 0 {
		return nil, 0, fmt.Errorf("OSV database %s holds no JSON records", z.path)
	}
	return built, hits, nil
}

// addFromFiles adds the unpacked JSON records that name one of names.
func (ix *Index) addFromFiles(s source, names map[string]bool, o options) error {
	recs := make([]*compiled, len(s.files))
	errs := make([]error, len(s.files))
	parallel(len(s.files), func(i int) {
		b, err := os.ReadFile(s.files[i])
		if err != nil {
			errs[i] = fmt.Errorf("OSV database: %w", err)
			return
		}
		hit := false
		nameValues(b, func(n string) { hit = hit || names[n] })
		if hit {
			recs[i], errs[i] = compileRaw(rawRecord{where: s.files[i], data: b})
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, c := range recs {
		ix.add(c)
	}
	fmt.Fprintf(o.progress, "osv: %s: %d records\n", s.ecosystem, len(s.files))
	return nil
}

// nameValues calls fn with the string value of every "name" key in the
// JSON document data, at any depth. It walks the document string by
// string (only strings hold quotes), so it is exact for valid JSON
// whatever the spacing or escapes, and never decodes anything else.
// Invalid JSON gives some subset; Parse rejects it later anyway.
func nameValues(data []byte, fn func(string)) {
	i := 0
	for {
		start := bytes.IndexByte(data[i:], '"')
		if start < 0 {
			return
		}
		start += i
		end, escaped := stringEnd(data, start)
		if end < 0 {
			return
		}
		i = end + 1
		k := skipSpace(data, i)
		if k >= len(data) || data[k] != ':' {
			continue // a value, not a key
		}
		if !isName(data[start:end+1], escaped) {
			continue
		}
		v := skipSpace(data, k+1)
		if v >= len(data) || data[v] != '"' {
			continue
		}
		vend, vesc := stringEnd(data, v)
		if vend < 0 {
			return
		}
		i = vend + 1
		// Go's decoder turns invalid UTF-8 into U+FFFD, so only a valid
		// unescaped value can be taken as it stands.
		if raw := data[v+1 : vend]; !vesc && utf8.Valid(raw) {
			fn(string(raw))
		} else if s, ok := unquote(data[v : vend+1]); ok {
			fn(s)
		}
	}
}

// stringEnd returns the index of the quote closing the string that opens
// at data[start], and whether the string holds an escape; -1 when it is
// not closed.
func stringEnd(data []byte, start int) (int, bool) {
	escaped := false
	for i := start + 1; ; {
		j := bytes.IndexAny(data[i:], "\"\\")
		if j < 0 {
			return -1, escaped
		}
		i += j
		if data[i] == '"' {
			return i, escaped
		}
		escaped = true
		i += 2 // the backslash and the character it escapes
		if i > len(data) {
			return -1, escaped
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// isName tells a "name" key, matched as encoding/json matches keys to
// struct fields: case-insensitively.
func isName(quoted []byte, escaped bool) bool {
	if !escaped {
		return len(quoted) == 6 && bytes.EqualFold(quoted[1:5], []byte("name"))
	}
	s, ok := unquote(quoted)
	return ok && strings.EqualFold(s, "name")
}

func unquote(quoted []byte) (string, bool) {
	var s string
	return s, json.Unmarshal(quoted, &s) == nil
}

// nameIndex is which records of one zip name which package (or other
// "name" value), by entry number in the zip's central directory.
type nameIndex struct {
	digest  [sha256.Size]byte
	files   int // entries in the zip, records or not
	records int
	byName  map[string][]uint32
}

// entries returns the sorted entry numbers of the records naming one of
// names.
func (n *nameIndex) entries(names map[string]bool) []uint32 {
	set := map[uint32]bool{}
	for name := range names {
		for _, i := range n.byName[name] {
			set[i] = true
		}
	}
	out := make([]uint32, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// The cache file, one per ecosystem and zip digest:
//
//	magic "TLOSVNM1", uint32 CRC-32C of everything after it,
//	uvarint format, 32-byte SHA-256 of the zip, uvarint #entries,
//	uvarint #records, uvarint #names, then per name (sorted): uvarint
//	length and bytes, uvarint #entries, entry numbers as uvarint deltas.
var (
	namesMagic = []byte("TLOSVNM1")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

func namesFile(dir, ecosystem string, digest [sha256.Size]byte) string {
	return filepath.Join(dir, "osv-names-"+ecosystem+"-"+hex.EncodeToString(digest[:8])+".bin")
}

// readNames returns the first current name index in dirs, where it was
// found, or why there is none.
func readNames(dirs []string, ecosystem string, digest [sha256.Size]byte, files int) (*nameIndex, string, string) {
	if len(dirs) == 0 {
		return nil, "", "no cache"
	}
	why := "no name index cached yet"
	for _, d := range dirs {
		p := namesFile(d, ecosystem, digest)
		data, err := os.ReadFile(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				why = err.Error()
			}
			continue
		}
		n, err := decodeNames(data)
		switch {
		case err != nil:
			why = fmt.Sprintf("name index %s: %v", p, err)
		case n.digest != digest || n.files != files:
			why = fmt.Sprintf("name index %s is for other contents", p)
		default:
			return n, p, ""
		}
	}
	return nil, "", why
}

// writeNames writes n into the first of dirs that can be written (to a
// temporary file renamed into place, so a concurrent scan never reads half
// of it) and removes the indexes of older contents of the same ecosystem
// there. It returns the file written, "" when no directory could be.
func writeNames(dirs []string, ecosystem string, n *nameIndex) (string, error) {
	data := encodeNames(n)
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			continue
		}
		tmp, err := os.CreateTemp(d, ".osv-names-*")
		if err != nil {
			continue
		}
		_, werr := tmp.Write(data)
		cerr := tmp.Close()
		p := namesFile(d, ecosystem, n.digest)
		if err := errors.Join(werr, cerr); err != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("OSV name index in %s: %w", d, err)
		}
		if err := os.Rename(tmp.Name(), p); err != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("OSV name index in %s: %w", d, err)
		}
		old, _ := filepath.Glob(filepath.Join(d, "osv-names-"+ecosystem+"-*.bin"))
		for _, o := range old {
			if o != p {
				os.Remove(o)
			}
		}
		return p, nil
	}
	return "", nil
}

func encodeNames(n *nameIndex) []byte {
	var w bytes.Buffer
	uv := func(v uint64) { w.Write(binary.AppendUvarint(nil, v)) }
	uv(namesFormat)
	w.Write(n.digest[:])
	uv(uint64(n.files))
	uv(uint64(n.records))
	keys := make([]string, 0, len(n.byName))
	for k := range n.byName {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	uv(uint64(len(keys)))
	for _, k := range keys {
		uv(uint64(len(k)))
		w.WriteString(k)
		es := n.byName[k]
		uv(uint64(len(es)))
		prev := uint32(0)
		for _, e := range es {
			uv(uint64(e - prev))
			prev = e
		}
	}
	body := w.Bytes()
	out := append([]byte{}, namesMagic...)
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, castagnoli))
	return append(out, body...)
}

var errCorrupt = errors.New("truncated or corrupt")

func decodeNames(data []byte) (*nameIndex, error) {
	if len(data) < len(namesMagic)+4 || !bytes.Equal(data[:len(namesMagic)], namesMagic) {
		return nil, errCorrupt
	}
	body := data[len(namesMagic)+4:]
	if binary.LittleEndian.Uint32(data[len(namesMagic):]) != crc32.Checksum(body, castagnoli) {
		return nil, errors.New("checksum mismatch")
	}
	return decodeNamesBody(body)
}

// decodeNamesBody reads what the checksum covers; corrupt input gives an
// error, never a panic or a huge allocation.
func decodeNamesBody(b []byte) (*nameIndex, error) {
	var err error
	uv := func() uint64 {
		if err != nil {
			return 0
		}
		v, k := binary.Uvarint(b)
		if k <= 0 {
			err = errCorrupt
			return 0
		}
		b = b[k:]
		return v
	}
	// count reads a length that must fit in what is left.
	count := func() int {
		v := uv()
		if v > uint64(len(b)) {
			err = errCorrupt
			return 0
		}
		return int(v)
	}
	if f := uv(); err == nil && f != namesFormat {
		return nil, fmt.Errorf("format %d, want %d", f, namesFormat)
	}
	n := &nameIndex{byName: map[string][]uint32{}}
	if len(b) < sha256.Size {
		return nil, errCorrupt
	}
	copy(n.digest[:], b)
	b = b[sha256.Size:]
	n.files, n.records = int(min(uv(), 1<<30)), int(min(uv(), 1<<30))
	for range count() {
		l := count()
		if err != nil {
			break
		}
		name := string(b[:l])
		b = b[l:]
		ne := count()
		es := make([]uint32, 0, ne)
		prev := uint64(0)
		for range ne {
			prev += uv()
			if prev >= uint64(n.files) {
				err = errCorrupt
			}
			if err != nil {
				break
			}
			es = append(es, uint32(prev))
		}
		n.byName[name] = es
	}
	if err == nil && len(b) != 0 {
		err = errCorrupt
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}
