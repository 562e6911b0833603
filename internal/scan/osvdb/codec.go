package osvdb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sort"
	"sync"

	"github.com/trustline-dev/trustline/internal/scan/cvss"
)

// The compiled index on disk. A scan looks up a few hundred packages out
// of ~13,000, so the file is laid out to be read without decoding what is
// not asked for: a directory of package keys and advisory offsets, then
// one small blob per package and per advisory, decoded on first use.
//
//	magic "TLOSVIX1"
//	uint32 header length, header (JSON: format, fingerprint, ecosystems)
//	uint32 CRC-32C of everything after it
//	uvarint #packages, then per package: key, blob offset, blob length
//	uvarint #advisories, then per advisory: blob offset, blob length
//	blobs
//
// Strings are a uvarint length and the bytes; offsets are relative to the
// start of the blobs.

var (
	magic      = []byte("TLOSVIX1")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

type fileHeader struct {
	Format      int      `json:"format"`
	Fingerprint string   `json:"fingerprint"`
	Ecosystems  []string `json:"ecosystems"`
}

type span struct{ off, n int }

// lazy is an index read from disk.
type lazy struct {
	blobs   []byte
	pkgs    map[string]span
	vulnDir []span

	mu      sync.Mutex
	entries map[string][]Entry
	vulns   map[int32]*Vuln
	err     error
}

type writer struct{ bytes.Buffer }

func (w *writer) uvarint(v uint64) {
	var b [binary.MaxVarintLen64]byte
	w.Write(b[:binary.PutUvarint(b[:], v)])
}

func (w *writer) str(s string) {
	w.uvarint(uint64(len(s)))
	w.WriteString(s)
}

func (w *writer) strs(ss []string) {
	w.uvarint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

type reader struct {
	b   []byte
	err error
}

var errTruncated = errors.New("compiled index is truncated or corrupt")

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length that must fit in what is left (each element takes
// at least one byte), so corrupt input cannot make a huge allocation.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.str())
	}
	return out
}

// encodeIndex writes ix in the on-disk layout.
func encodeIndex(ix *Index) ([]byte, error) {
	var blobs writer
	keys := make([]string, 0, len(ix.packages))
	for k := range ix.packages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var dir writer
	dir.uvarint(uint64(len(keys)))
	for _, k := range keys {
		start := blobs.Len()
		encodeEntries(&blobs, ix.packages[k])
		dir.str(k)
		dir.uvarint(uint64(start))
		dir.uvarint(uint64(blobs.Len() - start))
	}
	dir.uvarint(uint64(len(ix.vulns)))
	for i := range ix.vulns {
		start := blobs.Len()
		encodeVuln(&blobs, &ix.vulns[i])
		dir.uvarint(uint64(start))
		dir.uvarint(uint64(blobs.Len() - start))
	}
	hdr, err := json.Marshal(fileHeader{Format: formatVersion, Fingerprint: ix.Fingerprint, Ecosystems: ix.Ecosystems})
	if err != nil {
		return nil, err
	}
	body := append(dir.Bytes(), blobs.Bytes()...)
	out := make([]byte, 0, len(magic)+8+len(hdr)+len(body))
	out = append(out, magic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(hdr)))
	out = append(out, hdr...)
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, castagnoli))
	return append(out, body...), nil
}

func encodeEntries(w *writer, es []Entry) {
	w.uvarint(uint64(len(es)))
	for _, e := range es {
		w.uvarint(uint64(e.Vuln))
		w.uvarint(uint64(len(e.Ranges)))
		for _, r := range e.Ranges {
			w.str(r.Type)
			w.uvarint(uint64(len(r.Events)))
			for _, ev := range r.Events {
				switch {
				case ev.Introduced != "":
					w.WriteByte('i')
					w.str(ev.Introduced)
				case ev.Fixed != "":
					w.WriteByte('f')
					w.str(ev.Fixed)
				case ev.LastAffected != "":
					w.WriteByte('a')
					w.str(ev.LastAffected)
				default:
					w.WriteByte('l')
					w.str(ev.Limit)
				}
			}
		}
		w.strs(e.Versions)
		w.strs(e.GOOS)
	}
}

func decodeEntries(r *reader, nvulns int) []Entry {
	n := r.count()
	out := make([]Entry, 0, n)
	for range n {
		e := Entry{Vuln: int32(r.uvarint())}
		if int(e.Vuln) >= nvulns || e.Vuln < 0 {
			r.err = errTruncated
		}
		nr := r.count()
		for range nr {
			rg := Range{Type: r.str()}
			ne := r.count()
			for range ne {
				if r.err != nil || len(r.b) == 0 {
					r.err = errTruncated
					break
				}
				kind := r.b[0]
				r.b = r.b[1:]
				v := r.str()
				switch kind {
				case 'i':
					rg.Events = append(rg.Events, Event{Introduced: v})
				case 'f':
					rg.Events = append(rg.Events, Event{Fixed: v})
				case 'a':
					rg.Events = append(rg.Events, Event{LastAffected: v})
				case 'l':
					rg.Events = append(rg.Events, Event{Limit: v})
				default:
					r.err = errTruncated
				}
			}
			e.Ranges = append(e.Ranges, rg)
		}
		e.Versions = r.strs()
		e.GOOS = r.strs()
		if r.err != nil {
			return nil
		}
		out = append(out, e)
	}
	return out
}

func encodeVuln(w *writer, v *Vuln) {
	for _, s := range []string{v.ID, v.Summary, v.URL, v.Published, v.Modified, string(v.Rating), v.Vector} {
		w.str(s)
	}
	w.uvarint(math.Float64bits(v.Score))
	w.strs(v.Aliases)
	w.strs(v.Related)
}

func decodeVuln(r *reader) *Vuln {
	v := &Vuln{ID: r.str(), Summary: r.str(), URL: r.str(), Published: r.str(), Modified: r.str(),
		Rating: cvss.Rating(r.str()), Vector: r.str()}
	v.Score = math.Float64frombits(r.uvarint())
	v.Aliases = r.strs()
	v.Related = r.strs()
	if r.err != nil {
		return nil
	}
	return v
}

// decodeFile checks the magic, header and checksum and reads the
// directories; blobs are decoded on demand. wantFP, when not empty, must
// match the header's fingerprint.
func decodeFile(data []byte, wantFP string) (*Index, error) {
	if !bytes.HasPrefix(data, magic) {
		return nil, errors.New("cached index has an unknown layout")
	}
	data = data[len(magic):]
	if len(data) < 4 {
		return nil, errTruncated
	}
	hl := int(binary.LittleEndian.Uint32(data))
	data = data[4:]
	if hl > len(data) {
		return nil, errTruncated
	}
	var h fileHeader
	if err := json.Unmarshal(data[:hl], &h); err != nil {
		return nil, fmt.Errorf("cached index header: %w", err)
	}
	if h.Format != formatVersion || (wantFP != "" && h.Fingerprint != wantFP) {
		return nil, errors.New("database changed since the cached index was built")
	}
	data = data[hl:]
	if len(data) < 4 {
		return nil, errTruncated
	}
	sum := binary.LittleEndian.Uint32(data)
	data = data[4:]
	if crc32.Checksum(data, castagnoli) != sum {
		return nil, errors.New("cached index fails its checksum")
	}
	return decodeBody(data, h)
}

func decodeBody(data []byte, h fileHeader) (*Index, error) {
	r := &reader{b: data}
	np := r.count()
	l := &lazy{pkgs: make(map[string]span, np), entries: map[string][]Entry{}, vulns: map[int32]*Vuln{}}
	for range np {
		k := r.str()
		l.pkgs[k] = span{int(r.uvarint()), int(r.uvarint())}
	}
	nv := r.count()
	l.vulnDir = make([]span, 0, nv)
	for range nv {
		l.vulnDir = append(l.vulnDir, span{int(r.uvarint()), int(r.uvarint())})
	}
	if r.err != nil {
		return nil, r.err
	}
	l.blobs = r.b
	for _, s := range l.pkgs {
		if s.off < 0 || s.n < 0 || s.off+s.n > len(l.blobs) || s.off+s.n < s.off {
			return nil, errTruncated
		}
	}
	for _, s := range l.vulnDir {
		if s.off < 0 || s.n < 0 || s.off+s.n > len(l.blobs) || s.off+s.n < s.off {
			return nil, errTruncated
		}
	}
	return &Index{Fingerprint: h.Fingerprint, Ecosystems: h.Ecosystems, lazy: l}, nil
}

func (l *lazy) lookup(key string) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if es, ok := l.entries[key]; ok {
		return es
	}
	s, ok := l.pkgs[key]
	if !ok {
		return nil
	}
	r := &reader{b: l.blobs[s.off : s.off+s.n]}
	es := decodeEntries(r, len(l.vulnDir))
	if r.err != nil && l.err == nil {
		l.err = fmt.Errorf("package %q: %w", key, r.err)
	}
	l.entries[key] = es
	return es
}

func (l *lazy) vuln(i int32) *Vuln {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.vulns[i]; ok {
		return v
	}
	if int(i) >= len(l.vulnDir) || i < 0 {
		return &Vuln{}
	}
	s := l.vulnDir[i]
	r := &reader{b: l.blobs[s.off : s.off+s.n]}
	v := decodeVuln(r)
	if v == nil {
		if l.err == nil {
			l.err = fmt.Errorf("advisory %d: %w", i, r.err)
		}
		v = &Vuln{}
	}
	l.vulns[i] = v
	return v
}
