package bundle

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/trustline-dev/trustline/internal/testregistry"
)

// repoResources is every task and pipeline of the repository, the input
// `trustline catalog publish` bundles (one bundle each; here all in one to
// measure per-resource cost).
func repoResources(b *testing.B) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "tasks", "*", "*", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "pipelines", "*", "*", "*.yaml"))
	var out [][]byte
	for _, f := range append(files, more...) {
		c, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		b.Fatal("no tasks found")
	}
	return out
}

// BenchmarkBuild: decode, tar, gzip and digest a bundle of every task and
// pipeline in the repository.
func BenchmarkBuild(b *testing.B) {
	in := repoResources(b)
	b.ReportAllocs()
	for b.Loop() {
		img, _, err := Build(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := img.Digest(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in)), "resources")
}

// BenchmarkRead: check and read every layer of that bundle (what list and
// pull do after fetching).
func BenchmarkRead(b *testing.B) {
	img, _, err := Build(repoResources(b))
	if err != nil {
		b.Fatal(err)
	}
	// Write it to an OCI layout once so the benchmark measures reading
	// stored layers, not building them.
	lp, err := layout.Write(b.TempDir(), empty.Index)
	if err != nil {
		b.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		b.Fatal(err)
	}
	h, _ := img.Digest()
	if img, err = lp.Image(h); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushList: push one task bundle to a registry on 127.0.0.1 and
// list it back, the round trip of `trustline bundle push` + `list`.
func BenchmarkPushList(b *testing.B) {
	ctx := context.Background()
	reg := testregistry.Start(b)
	ref, _ := name.ParseReference(reg + "/task-git-clone:0.1")
	files := []string{filepath.Join("..", "..", "tasks", "git-clone", "0.1", "git-clone.yaml")}
	b.ReportAllocs()
	for b.Loop() {
		p, err := Push(ctx, files, ref, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := List(ctx, p.Digest, nil); err != nil {
			b.Fatal(err)
		}
	}
}
