package testdb

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/sharedtest"
)

// govulncheckVersion is the reference the Go findings are compared with.
const GovulncheckVersion = "v1.9.0"

// Old modules with known advisories, fetched through the Go proxy. MVS
// may raise a version (gin 1.6.0 needs x/text 0.3.2); the comparison uses
// whatever the binary records.
var Programs = map[string]struct {
	requires []string
	imports  []string
}{
	"xtext": {requires: []string{"golang.org/x/text v0.3.0"}, imports: []string{"golang.org/x/text/language"}},
	"gin":   {requires: []string{"github.com/gin-gonic/gin v1.6.0", "golang.org/x/text v0.3.0"}, imports: []string{"github.com/gin-gonic/gin", "golang.org/x/text/language"}},
}

func Govulncheck(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("govulncheck"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "govulncheck")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("govulncheck not found in PATH or $(go env GOPATH)/bin: install it with GOFLAGS= go install golang.org/x/vuln/cmd/govulncheck@%s", GovulncheckVersion)
	return ""
}

// BuildProgram builds a small program against old module versions.
func BuildProgram(t testing.TB, name string) string {
	t.Helper()
	p, ok := Programs[name]
	if !ok {
		t.Fatalf("no test program %q", name)
	}
	dir := t.TempDir()
	gomod := "module example.com/" + name + "\n\ngo 1.21\n\nrequire (\n"
	for _, r := range p.requires {
		gomod += "\t" + r + "\n"
	}
	gomod += ")\n"
	src := "package main\n\nimport (\n"
	for i, im := range p.imports {
		src += fmt.Sprintf("\tp%d %q\n", i, im)
	}
	src += ")\n\nvar keep = []any{"
	switch name {
	case "xtext":
		src += "p0.Parse"
	case "gin":
		src += "p0.New, p1.Parse"
	}
	src += "}\n\nfunc main() { _ = keep }\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	// The program has no go.sum: let the go command resolve and record
	// it; the module proxy serves the old versions.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOSUMDB=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, out)
	}
	return bin
}

// GoVersionSBOM writes the CycloneDX SBOM of a Go binary from `go version
// -m`, spelled as syft spells it: the standard library is component
// "stdlib" with version "go1.x.y" and PURL version "1.x.y", and GOOS sits
// in syft's goBuildSettings properties.
func GoVersionSBOM(t testing.TB, bin string) []byte {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	type prop struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	type comp struct {
		BOMRef     string `json:"bom-ref"`
		Type       string `json:"type"`
		Name       string `json:"name"`
		Version    string `json:"version"`
		PURL       string `json:"purl"`
		Properties []prop `json:"properties,omitempty"`
	}
	var comps []comp
	goos, toolchain := "", ""
	var deps [][2]string
	for i, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if i == 0 && len(f) == 2 {
			toolchain = f[1]
			continue
		}
		switch {
		case len(f) >= 3 && f[0] == "dep":
			deps = append(deps, [2]string{f[1], f[2]})
		case len(f) >= 3 && f[0] == "=>" && len(deps) > 0:
			deps[len(deps)-1] = [2]string{f[1], f[2]}
		case len(f) >= 2 && f[0] == "build" && strings.HasPrefix(f[1], "GOOS="):
			goos = strings.TrimPrefix(f[1], "GOOS=")
		}
	}
	props := []prop{{"syft:package:type", "go-module"}, {"syft:metadata:goBuildSettings:0:key", "GOOS"}, {"syft:metadata:goBuildSettings:0:value", goos}}
	for _, d := range deps {
		comps = append(comps, comp{BOMRef: d[0], Type: "library", Name: d[0], Version: d[1], PURL: "pkg:golang/" + d[0] + "@" + d[1], Properties: props})
	}
	comps = append(comps, comp{BOMRef: "stdlib", Type: "library", Name: "stdlib", Version: toolchain,
		PURL: "pkg:golang/stdlib@" + strings.TrimPrefix(toolchain, "go"), Properties: props})
	b, err := json.Marshal(map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GoVulnDB lays the Go all.zip out as govulncheck's file:// database
// (index/db.json, index/modules.json, index/vulns.json, ID/<id>.json).
func GoVulnDB(t testing.TB, zipPath string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ID"), 0o755)
	os.MkdirAll(filepath.Join(dir, "index"), 0o755)
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	type modVuln struct {
		ID       string `json:"id"`
		Modified string `json:"modified"`
	}
	type vulnEntry struct {
		ID       string   `json:"id"`
		Modified string   `json:"modified"`
		Aliases  []string `json:"aliases,omitempty"`
	}
	mods := map[string][]modVuln{}
	var vulns []vulnEntry
	latest := ""
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			ID       string   `json:"id"`
			Modified string   `json:"modified"`
			Aliases  []string `json:"aliases"`
			Affected []struct {
				Package struct{ Name string } `json:"package"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ID", r.ID+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		vulns = append(vulns, vulnEntry{r.ID, r.Modified, r.Aliases})
		for _, a := range r.Affected {
			mods[a.Package.Name] = append(mods[a.Package.Name], modVuln{r.ID, r.Modified})
		}
		if r.Modified > latest {
			latest = r.Modified
		}
	}
	type module struct {
		Path  string    `json:"path"`
		Vulns []modVuln `json:"vulns"`
	}
	var ms []module
	for p, v := range mods {
		ms = append(ms, module{p, v})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Path < ms[j].Path })
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("db.json", map[string]string{"modified": latest})
	write("modules.json", ms)
	write("vulns.json", vulns)
	return dir
}

// GovulncheckOracle returns the OSV database directory the scans read,
// and govulncheck's findings for a Go binary made from the Go part of the
// same database: what a scan's findings are compared with.
func GovulncheckOracle(t testing.TB) (osvDir string, govulncheck func(t testing.TB, bin string) []string) {
	t.Helper()
	tool := Govulncheck(t)
	osvDir = sharedtest.OSV(t)
	vulndb := GoVulnDB(t, filepath.Join(osvDir, "Go", "all.zip"))
	return osvDir, func(t testing.TB, bin string) []string {
		t.Helper()
		return GovulncheckFindings(t, tool, vulndb, bin)
	}
}

// CheckSameAsGovulncheck compares the findings of a report (of what, for
// the message) with govulncheck's, in govulncheck's terms: "ID module",
// sorted.
func CheckSameAsGovulncheck(t testing.TB, what string, rep *finding.Report, want []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range rep.Vulnerabilities {
		seen[v.ID+" "+v.Package.Name] = true
	}
	got := slices.Sorted(maps.Keys(seen))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings of %s differ from govulncheck %s\nours:\n  %s\ngovulncheck:\n  %s", what, GovulncheckVersion,
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	t.Logf("%s: %d findings, same as govulncheck: %v", what, len(got), got)
}

// GovulncheckFindings runs govulncheck in module mode on a binary and
// returns "id module" pairs.
func GovulncheckFindings(t testing.TB, tool, db, bin string) []string {
	t.Helper()
	cmd := exec.Command(tool, "-db", "file://"+db, "-mode", "binary", "-scan", "module", "-format", "json", bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("govulncheck: %v\n%s", err, stderr.String())
	}
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var msg struct {
			Finding *struct {
				OSV   string `json:"osv"`
				Trace []struct {
					Module string `json:"module"`
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); err != nil {
			t.Fatalf("govulncheck output: %v", err)
		}
		if msg.Finding != nil && len(msg.Finding.Trace) > 0 {
			seen[msg.Finding.OSV+" "+msg.Finding.Trace[0].Module] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
