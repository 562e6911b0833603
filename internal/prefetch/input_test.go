package prefetch

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/sharedtest"
)

func TestParseInput(t *testing.T) {
	for in, want := range map[string][]Package{
		"gomod":                         {{Type: "gomod", Path: "."}},
		` {"type":"npm","path":"web/"}`: {{Type: "npm", Path: "web"}},
		`[{"type":"gomod"},{"type":"pip","path":"py","requirements_files":["req.txt"]},{"type":"generic"}]`: {
			{Type: "gomod", Path: "."},
			{Type: "pip", Path: "py", RequirementsFiles: []string{"req.txt"}},
			{Type: "generic", Path: ".", Lockfile: "artifacts.lock.yaml"}},
		`{"packages":[{"type":"pip"}],"flags":["cgo-disable"]}`: {{Type: "pip", Path: ".", RequirementsFiles: []string{"requirements.txt"}}},
	} {
		got, err := ParseInput(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"":                                     "empty",
		"cargo":                                `type "cargo"`,
		`[]`:                                   "no packages",
		`[{"type":"gomod","path":"../x"}]`:     "leaves the source",
		`[{"type":"gomod","path":"/abs"}]`:     "must be relative",
		`{"type":"gomod","pth":"."}`:           "unknown field",
		`[{"type":"npm","lockfile":"x.yaml"}]`: "lockfile is for generic",
		`[{"path":"."}]`:                       `no "type"`,
		`[{"type":"gomod"}] trailing`:          "trailing data",
	} {
		_, err := ParseInput(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", in, err, want)
		}
	}
}

// TestSBOMSchema: an SBOM of every package type passes the CycloneDX 1.6
// schema, and the same dependencies give the same serial number.
func TestSBOMSchema(t *testing.T) {
	_, src, _ := npmFixture(t)
	fsGo, goSrc, _ := goModuleFixture(t)
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, _ := os.ReadFile(filepath.Join(goSrc, f))
		writeFiles(t, src, map[string]string{f: string(b)})
	}
	pkgs := []Package{{Type: TypeGomod}, {Type: TypeNPM}}
	out := filepath.Join(t.TempDir(), "out")
	res, err := Prefetch(context.Background(), src, out, pkgs, WithGoProxy(fsGo.URL))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(res.SBOM)
	if err != nil {
		t.Fatal(err)
	}
	sharedtest.ValidateCycloneDX(t, doc)
	if res.Components != 4 {
		t.Errorf("%d components, want 4", res.Components)
	}
	out2 := filepath.Join(t.TempDir(), "out")
	res2, err := Prefetch(context.Background(), src, out2, pkgs, WithGoProxy(fsGo.URL))
	if err != nil {
		t.Fatal(err)
	}
	if res2.SBOMSerial != res.SBOMSerial || !strings.HasPrefix(res.SBOMSerial, "urn:uuid:") {
		t.Errorf("serial numbers %s and %s differ for the same dependencies", res.SBOMSerial, res2.SBOMSerial)
	}
	env, _ := os.ReadFile(filepath.Join(out, EnvFile))
	for _, want := range []string{"export GOMODCACHE=/prefetch/deps/gomod/pkg/mod\n", "export GOPROXY=off\n", "export GOFLAGS=-mod=mod\n", "export npm_config_cache=/prefetch/deps/npm\n", "export npm_config_offline=true\n"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("prefetch.env lacks %q:\n%s", want, env)
		}
	}
}
