package prefetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type npmPkg struct {
	name, version string
	tarball       []byte
	url           string
}

// npmFixture serves tarballs on 127.0.0.1 and writes package.json and a
// lockfileVersion 3 package-lock.json that installs them (one scoped, one
// nested under another).
func npmFixture(t *testing.T) (fs *fileServer, src string, pkgs []*npmPkg) {
	t.Helper()
	fs = newFileServer(t)
	pkgs = []*npmPkg{{name: "left-pad", version: "1.3.0"}, {name: "@acme/util", version: "2.0.1"}, {name: "left-pad", version: "1.1.0"}}
	for _, p := range pkgs {
		p.tarball = npmTarball(t, p.name, p.version)
		base := p.name
		if i := strings.IndexByte(base, '/'); i >= 0 {
			base = base[i+1:]
		}
		p.url = fs.put("/"+p.name+"/-/"+base+"-"+p.version+".tgz", p.tarball)
	}
	entry := func(p *npmPkg) map[string]any {
		return map[string]any{"version": p.version, "resolved": p.url, "integrity": sri512(p.tarball)}
	}
	lock := map[string]any{
		"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
		"packages": map[string]any{
			"": map[string]any{"name": "app", "version": "1.0.0",
				"dependencies": map[string]string{"left-pad": "1.3.0", "@acme/util": "2.0.1"}},
			"node_modules/left-pad":                         entry(pkgs[0]),
			"node_modules/@acme/util":                       entry(pkgs[1]),
			"node_modules/@acme/util/node_modules/left-pad": entry(pkgs[2]),
		},
	}
	// @acme/util depends on the older left-pad, nested under it.
	lock["packages"].(map[string]any)["node_modules/@acme/util"].(map[string]any)["dependencies"] = map[string]string{"left-pad": "1.1.0"}
	lb, _ := json.MarshalIndent(lock, "", "  ")
	src = t.TempDir()
	writeFiles(t, src, map[string]string{
		"package.json":      `{"name":"app","version":"1.0.0","dependencies":{"left-pad":"1.3.0","@acme/util":"2.0.1"}}`,
		"package-lock.json": string(lb),
	})
	return fs, src, pkgs
}

// TestNPMCiOffline fetches the lockfile's tarballs, then runs the real
// `npm ci --offline` with the registry pointed at a closed port: npm
// installs every package from the cache prefetch wrote.
func TestNPMCiOffline(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm is needed: the test proves what `npm ci --offline` accepts")
	}
	fs, src, _ := npmFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	res, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeNPM}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Components != 3 {
		t.Errorf("%d components, want 3", res.Components)
	}
	fs.Close() // from here on, nothing is reachable
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), envFromFile(t, filepath.Join(out, EnvFile), DefaultMountPath, out)...)
	cmd.Env = append(cmd.Env, "npm_config_registry="+deadURL(t)+"/", "HOME="+t.TempDir(), "npm_config_logs_dir="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci --offline: %v\n%s", err, b)
	}
	for p, want := range map[string]string{
		"node_modules/left-pad/index.js":                         "left-pad@1.3.0",
		"node_modules/@acme/util/index.js":                       "@acme/util@2.0.1",
		"node_modules/@acme/util/node_modules/left-pad/index.js": "left-pad@1.1.0",
	} {
		b, err := os.ReadFile(filepath.Join(src, p))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %q, %v; want %s", p, b, err, want)
		}
	}
	sbom := readSBOM(t, filepath.Join(out, SBOMFile))
	var purls []string
	for _, c := range sbom.Components {
		purls = append(purls, c.PURL)
		if len(c.Hashes) != 2 || c.Hashes[0].Alg != "SHA-256" || c.Hashes[1].Alg != "SHA-512" {
			t.Errorf("%s hashes %+v: want SHA-256 and SHA-512", c.PURL, c.Hashes)
		}
	}
	if got := strings.Join(purls, " "); got != "pkg:npm/%40acme/util@2.0.1 pkg:npm/left-pad@1.1.0 pkg:npm/left-pad@1.3.0" {
		t.Errorf("purls %s", got)
	}
}

func TestNPMIntegrityMismatch(t *testing.T) {
	fs, src, pkgs := npmFixture(t)
	fs.put(strings.TrimPrefix(pkgs[0].url, fs.URL), npmTarball(t, "left-pad", "6.6.6"))
	out := filepath.Join(t.TempDir(), "out")
	_, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeNPM}})
	var ce *ChecksumError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "left-pad@1.3.0") {
		t.Fatalf("want a checksum error naming left-pad@1.3.0, got %v", err)
	}
	assertEmpty(t, out)
}

func TestNPMMissingIntegrity(t *testing.T) {
	fs, src, _ := npmFixture(t)
	b, _ := os.ReadFile(filepath.Join(src, "package-lock.json"))
	var lock map[string]any
	json.Unmarshal(b, &lock)
	delete(lock["packages"].(map[string]any)["node_modules/@acme/util"].(map[string]any), "integrity")
	nb, _ := json.Marshal(lock)
	writeFiles(t, src, map[string]string{"package-lock.json": string(nb)})
	out := filepath.Join(t.TempDir(), "out")
	_, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeNPM}})
	var ue *UnpinnedError
	if !errors.As(err, &ue) || fmt.Sprint(ue.Packages) != "[@acme/util@2.0.1 (node_modules/@acme/util)]" {
		t.Fatalf("want @acme/util named as unpinned, got %v", err)
	}
	if fs.requests.Load() != 0 {
		t.Errorf("%d requests before the lockfile was checked", fs.requests.Load())
	}
	assertEmpty(t, out)
}

func TestNPMLockfileV1Refused(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"package-lock.json": `{"lockfileVersion":1,"dependencies":{}}`})
	_, err := Prefetch(context.Background(), src, filepath.Join(t.TempDir(), "o"), []Package{{Type: TypeNPM}})
	if err == nil || !strings.Contains(err.Error(), "package-lock.json: lockfileVersion 1") {
		t.Fatalf("got %v", err)
	}
}

// TestNPMWithoutResolved: with npm's omit-lockfile-registry-resolved the
// lockfile has integrity but no resolved URL; the tarball comes from the
// registry given, the lockfile gets those URLs (as Hermeto writes them),
// and `npm ci --offline` installs from the output.
func TestNPMWithoutResolved(t *testing.T) {
	fs, src, _ := npmFixture(t)
	b, _ := os.ReadFile(filepath.Join(src, "package-lock.json"))
	var lock map[string]any
	json.Unmarshal(b, &lock)
	for k, v := range lock["packages"].(map[string]any) {
		if k != "" {
			delete(v.(map[string]any), "resolved")
		}
	}
	nb, _ := json.Marshal(lock)
	writeFiles(t, src, map[string]string{"package-lock.json": string(nb)})
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Prefetch(context.Background(), src, out, []Package{{Type: TypeNPM}}, WithNPMRegistry(fs.URL)); err != nil {
		t.Fatal(err)
	}
	fs.Close()
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), envFromFile(t, filepath.Join(out, EnvFile), DefaultMountPath, out)...)
	cmd.Env = append(cmd.Env, "npm_config_registry="+fs.URL+"/", "HOME="+t.TempDir(), "npm_config_logs_dir="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci --offline: %v\n%s", err, b)
	}
	if b, err := os.ReadFile(filepath.Join(src, "node_modules/@acme/util/index.js")); err != nil || !strings.Contains(string(b), "@acme/util@2.0.1") {
		t.Errorf("@acme/util not installed: %q %v", b, err)
	}
}
