package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/stepcli"
)

// The demo's database (test/osv) is an export the scan step reads, holds
// the advisory the demo is about, and carries no prose.
func TestDemoDatabase(t *testing.T) {
	zr, err := zip.OpenReader(filepath.Join("..", "..", "test", "osv", "Go", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]json.RawMessage
		err = json.NewDecoder(rc).Decode(&rec)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		for _, k := range []string{"summary", "details"} {
			if _, ok := rec[k]; ok {
				t.Errorf("%s keeps %s", f.Name, k)
			}
		}
		if f.Name == "GO-2022-1059.json" {
			found = strings.Contains(string(rec["affected"]), `"golang.org/x/text"`) && strings.Contains(string(rec["aliases"]), "CVE-2022-32149")
		}
	}
	if !found {
		t.Fatal("GO-2022-1059 (golang.org/x/text, CVE-2022-32149) is missing from test/osv")
	}
}

// When the osv.dev export it was cut from is beside the repository, the
// committed subset is exactly what scripts/osv-subset.sh makes from it.
func TestDemoDatabaseIsCurrent(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "osv")
	if _, err := os.Stat(filepath.Join(src, "Go", "all.zip")); err != nil {
		t.Skip("no ../shared/osv beside the repository")
	}
	out := t.TempDir()
	var stderr bytes.Buffer
	args := []string{"trustline", "db", "subset", "--from", src, "--ecosystem", "Go", "--package", "stdlib", "--package", "toolchain", "--package", "golang.org/x/text", "--to", out}
	if code := stepcli.Run(newApp(), args, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, _ := os.ReadFile(filepath.Join(out, "Go", "all.zip"))
	want, _ := os.ReadFile(filepath.Join("..", "..", "test", "osv", "Go", "all.zip"))
	if !bytes.Equal(got, want) {
		t.Fatal("test/osv/Go/all.zip differs from what scripts/osv-subset.sh makes: run it and commit the result")
	}
}

func TestDBFetch(t *testing.T) {
	// A plain file server with the bucket's layout: no checksum headers.
	pub := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "test", "osv", "Go", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(pub, "Go"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pub, "Go", "all.zip"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(pub)))
	defer srv.Close()

	db := t.TempDir()
	var stderr bytes.Buffer
	app := newApp()
	var stdout bytes.Buffer
	app.Writer = &stdout
	code := stepcli.Run(app, []string{"trustline", "db", "fetch", "--ecosystem", "Go", "--base-url", srv.URL, "--output", "json", db}, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got, _ := os.ReadFile(filepath.Join(db, "Go", "all.zip")); !bytes.Equal(got, src) {
		t.Fatal("the fetched database differs from the server's")
	}
	if !strings.Contains(stderr.String(), "db fetch: Go: ") || !strings.Contains(stderr.String(), "(100%)") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}
	var res []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res) != 1 || res[0]["Records"] != float64(203) {
		t.Errorf("--output json: %v %s", err, stdout.String())
	}

	// An ecosystem the server lacks: exit 2, a message naming it, the
	// database fetched before left as it was.
	stderr.Reset()
	code = stepcli.Run(newApp(), []string{"trustline", "db", "fetch", "--ecosystem", "go", "--base-url", srv.URL, db}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `"go"`) || !strings.Contains(stderr.String(), "404") {
		t.Fatalf("missing ecosystem: exit %d: %s", code, stderr.String())
	}
	for _, args := range [][]string{
		{"trustline", "db", "fetch"},
		{"trustline", "db", "fetch", "--base-url", "ftp://x", db},
		{"trustline", "db", "fetch", "--ecosystem", "../x", "--base-url", srv.URL, db},
	} {
		stderr.Reset()
		if code := stepcli.Run(newApp(), args, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args[2:], code, stderr.String())
		}
	}
}
