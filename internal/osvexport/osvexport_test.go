package osvexport

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// zipOf builds an export zip of name → content.
func zipOf(t testing.TB, entries map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const textRecord = `{"schema_version":"1.3.1","id":"GO-2022-1059","modified":"2024-05-20T16:03:47Z","published":"2022-10-11T17:30:14Z",
"aliases":["CVE-2022-32149","GHSA-69ch-w2m2-3vjp"],"summary":"Denial of service via crafted Accept-Language header in golang.org/x/text/language",
"details":"An attacker may cause a denial of service by crafting an Accept-Language header which ParseAcceptLanguage will take significant time to parse.",
"affected":[{"package":{"name":"golang.org/x/text","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.8"}]}],
"ecosystem_specific":{"imports":[{"path":"golang.org/x/text/language","symbols":["ParseAcceptLanguage"]}]}}],
"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
"references":[{"type":"FIX","url":"https://go.dev/cl/442235"}],"credits":[{"name":"Adam Korczynski"}],
"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2022-1059","review_status":"REVIEWED"}}`

const otherRecord = `{"id":"GO-2023-0001","modified":"2023-01-01T00:00:00Z","summary":"x","details":"y",
"affected":[{"package":{"name":"example.com/other","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`

func TestValidate(t *testing.T) {
	good := zipOf(t, map[string]string{"GO-2022-1059.json": textRecord, "GO-2023-0001.json": otherRecord})
	st, err := Validate(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 || strings.Join(st.Ecosystems, ",") != "Go" {
		t.Fatalf("stats %+v, want 2 records of Go", st)
	}

	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"html page":      {[]byte("<html>not found</html>"), "zip"},
		"empty zip":      {zipOf(t, nil), "no records"},
		"not json":       {zipOf(t, map[string]string{"a.json": "{"}), "a.json"},
		"not a record":   {zipOf(t, map[string]string{"b.json": `{"name":"x"}`}), "b.json: record has no id"},
		"no modified":    {zipOf(t, map[string]string{"c.json": `{"id":"X-1"}`}), "X-1 has no modified"},
		"no package":     {zipOf(t, map[string]string{"d.json": `{"id":"X-2","modified":"2024-01-01T00:00:00Z","affected":[{"ranges":[]}]}`}), "affected[0]"},
		"not json entry": {zipOf(t, map[string]string{"README.md": "hello"}), "README.md is not a .json record"},
		"truncated":      {good[:len(good)/2], "zip"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Validate(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, ErrNotExport) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrNotExport mentioning %q", err, tc.want)
			}
		})
	}
}

func TestValidateCorruptedEntry(t *testing.T) {
	good := zipOf(t, map[string]string{"GO-2022-1059.json": textRecord})
	// Flip a byte of the compressed data: the entry's CRC no longer matches.
	bad := bytes.Clone(good)
	i := bytes.Index(bad, []byte("GO-2022-1059.json")) + len("GO-2022-1059.json") + 10
	bad[i] ^= 0xff
	if _, err := Validate(bytes.NewReader(bad), int64(len(bad))); !errors.Is(err, ErrNotExport) {
		t.Fatalf("a corrupted entry passed: %v", err)
	}
}

func TestSubset(t *testing.T) {
	src := zipOf(t, map[string]string{"GO-2022-1059.json": textRecord, "GO-2023-0001.json": otherRecord})
	keep := func(eco, name string) bool { return eco == "Go" && name == "golang.org/x/text" }
	var out bytes.Buffer
	n, err := Subset(bytes.NewReader(src), int64(len(src)), &out, keep)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d records kept, want 1", n)
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "GO-2022-1059.json" {
		t.Fatalf("entries %v", zr.File)
	}
	rc, _ := zr.File[0].Open()
	var got, orig map[string]any
	if err := json.NewDecoder(rc).Decode(&got); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(textRecord), &orig)
	for _, f := range ProseFields {
		if _, ok := got[f]; ok {
			t.Errorf("prose field %s kept", f)
		}
		delete(orig, f)
	}
	// Everything else is kept as it was.
	a, _ := json.Marshal(orig)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatalf("record changed beyond its prose:\n got %s\nwant %s", b, a)
	}
	// The output is itself a valid export, and the same bytes every time.
	if _, err := Validate(bytes.NewReader(out.Bytes()), int64(out.Len())); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if _, err := Subset(bytes.NewReader(src), int64(len(src)), &again, keep); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Fatal("two subsets of the same input differ")
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(zipOf(f, map[string]string{"GO-2022-1059.json": textRecord}))
	f.Add(zipOf(f, map[string]string{"a.json": `{"id":"X","modified":"m","affected":[{}]}`}))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Validate(bytes.NewReader(data), int64(len(data)))
		if err == nil && st.Records == 0 {
			t.Fatal("a valid export with no records")
		}
		if err != nil && !errors.Is(err, ErrNotExport) {
			t.Fatalf("error outside ErrNotExport: %v", err)
		}
	})
}
