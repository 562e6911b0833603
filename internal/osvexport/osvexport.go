// Package osvexport reads and writes OSV databases in the form osv.dev
// exports them: one zip per ecosystem (<Ecosystem>/all.zip) holding one
// OSV JSON record per file. It checks that a zip is such an export
// (Validate), and cuts a small database out of a large one (Subset) for
// a demo or a test that should not carry the whole export.
package osvexport

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// ErrNotExport is wrapped by every error that says a file is not an OSV
// export zip.
var ErrNotExport = errors.New("not an OSV export")

// maxRecordSize bounds one decompressed record; the largest in osv.dev's
// exports are a few hundred kilobytes.
const maxRecordSize = 16 << 20

// Stats describes a valid export.
type Stats struct {
	Records    int
	Ecosystems []string // the ecosystems the records' affected packages name
}

// Validate reads the whole zip at r (size bytes) and checks that every
// entry is a JSON OSV record with an id, a modified time and, when
// affected packages are listed, an ecosystem and a name for each. An
// empty zip is not an export. Errors name the entry.
func Validate(r io.ReaderAt, size int64) (Stats, error) {
	var st Stats
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return st, fmt.Errorf("%w: %v", ErrNotExport, err)
	}
	ecos := map[string]bool{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		b, err := readEntry(f)
		if err != nil {
			return st, err
		}
		rec, err := parse(f.Name, b)
		if err != nil {
			return st, err
		}
		for _, a := range rec.Affected {
			ecos[a.Package.Ecosystem] = true
		}
		st.Records++
	}
	if st.Records == 0 {
		return st, fmt.Errorf("%w: the zip holds no records", ErrNotExport)
	}
	for e := range ecos {
		st.Ecosystems = append(st.Ecosystems, e)
	}
	sort.Strings(st.Ecosystems)
	return st, nil
}

// record is the part of an OSV record this package looks at.
type record struct {
	ID       string `json:"id"`
	Modified string `json:"modified"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

func readEntry(f *zip.File) ([]byte, error) {
	if !strings.HasSuffix(f.Name, ".json") {
		return nil, fmt.Errorf("%w: entry %s is not a .json record", ErrNotExport, f.Name)
	}
	if f.UncompressedSize64 > maxRecordSize {
		return nil, fmt.Errorf("%w: entry %s is %d bytes, more than a record can be", ErrNotExport, f.Name, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: entry %s: %v", ErrNotExport, f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxRecordSize+1))
	if err != nil {
		// Includes zip's checksum error for a corrupted entry.
		return nil, fmt.Errorf("%w: entry %s: %v", ErrNotExport, f.Name, err)
	}
	if len(b) > maxRecordSize {
		return nil, fmt.Errorf("%w: entry %s is larger than a record can be", ErrNotExport, f.Name)
	}
	return b, nil
}

func parse(name string, b []byte) (*record, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%w: entry %s: %v", ErrNotExport, name, err)
	}
	switch {
	case rec.ID == "":
		return nil, fmt.Errorf("%w: entry %s: record has no id", ErrNotExport, name)
	case rec.Modified == "":
		return nil, fmt.Errorf("%w: entry %s: record %s has no modified time", ErrNotExport, name, rec.ID)
	}
	for i, a := range rec.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			return nil, fmt.Errorf("%w: entry %s: record %s: affected[%d] has no package ecosystem or name", ErrNotExport, name, rec.ID, i)
		}
	}
	return &rec, nil
}

// ProseFields are the top-level record fields Subset drops: free text
// written for people (and most of a record's size), which no matcher reads.
var ProseFields = []string{"summary", "details"}

// Subset copies from the export zip at r (size bytes) to w, as a new
// export zip, every record that has an affected package for which keep
// returns true, without its ProseFields. Everything else in a kept record
// (id, aliases, related, affected with its ranges, versions and ecosystem
// data, severity, references, modified, published, withdrawn, credits,
// database_specific) is kept as it is. The output is deterministic:
// entries sorted by name, fixed times, so the same input gives the same
// bytes. It returns the number of records written.
func Subset(r io.ReaderAt, size int64, w io.Writer, keep func(ecosystem, name string) bool) (int, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotExport, err)
	}
	type entry struct {
		name string
		body []byte
	}
	var out []entry
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		b, err := readEntry(f)
		if err != nil {
			return 0, err
		}
		rec, err := parse(f.Name, b)
		if err != nil {
			return 0, err
		}
		wanted := false
		for _, a := range rec.Affected {
			if keep(a.Package.Ecosystem, a.Package.Name) {
				wanted = true
				break
			}
		}
		if !wanted {
			continue
		}
		body, err := stripProse(b)
		if err != nil {
			return 0, fmt.Errorf("entry %s: %w", f.Name, err)
		}
		out = append(out, entry{name: path.Base(f.Name), body: body})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	zw := zip.NewWriter(w)
	for i, e := range out {
		if i > 0 && out[i-1].name == e.name {
			return 0, fmt.Errorf("%w: two entries named %s", ErrNotExport, e.name)
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{
			Name:     e.name,
			Method:   zip.Deflate,
			Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC),
		})
		if err != nil {
			return 0, err
		}
		if _, err := fw.Write(e.body); err != nil {
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return len(out), nil
}

// stripProse removes ProseFields and re-encodes the record compactly with
// its keys sorted.
func stripProse(b []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, f := range ProseFields {
		delete(m, f)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
