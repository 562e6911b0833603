package verify_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/ecp"
)

// pushBundle pushes dir as a conftest policy bundle (one layer per file,
// titled with its path), as `conftest push` and Conforma's bundles do.
func pushBundle(t *testing.T, ref, dir string) {
	t.Helper()
	var adds []mutate.Addendum
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		mt := types.MediaType("application/vnd.cncf.openpolicyagent.policy.layer.v1+rego")
		if !strings.HasSuffix(p, ".rego") {
			mt = "application/vnd.cncf.openpolicyagent.data.layer.v1+json"
		}
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(b, mt), Annotations: map[string]string{"org.opencontainers.image.title": filepath.ToSlash(rel)}})
		return nil
	})
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

func TestOCIPolicySources(t *testing.T) {
	e := setup(t)
	e.push(t, e.goodImage("app"))
	pushBundle(t, e.reg+"/policy/release:latest", filepath.Dir(e.ddir))
	pushBundle(t, e.reg+"/policy/data:latest", e.ddir)
	pol := &ecp.Policy{Sources: []ecp.Source{{
		Policy:   []string{"oci::" + e.reg + "/policy/release:latest"},
		Data:     []string{"oci::" + e.reg + "/policy/data:latest"},
		RuleData: trusted(),
	}}}
	cache := t.TempDir()
	rep := e.verify(t, pol, []verify.Image{{Ref: e.reg + "/app:latest"}}, verify.WithCacheDir(cache))
	if c := rep.Components[0]; !c.Success || c.SuccessCount < 15 {
		t.Fatalf("oci sources: success=%v successes=%d violations=%+v error=%s", c.Success, c.SuccessCount, c.Violations, c.Error)
	}
	if len(rep.Policy.Sources[0].Digests) != 2 || !strings.HasPrefix(rep.Policy.Sources[0].Digests[0], "sha256:") {
		t.Errorf("source digests: %v", rep.Policy.Sources[0].Digests)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 2 {
		t.Errorf("cache has %d entries, want one per artifact digest", len(entries))
	}
}
