package publish

import (
	"context"
	"testing"

	"github.com/trustline-dev/trustline/internal/testregistry"
)

// BenchmarkPublishTree: the first publish of the repository's tasks and
// pipelines (step images with /bin/true stand-ins, bundles, catalog,
// READMEs) into an empty registry on 127.0.0.1.
func BenchmarkPublishTree(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		root := repositoryTree(b)
		reg := testregistry.Start(b) + "/trustline"
		b.StartTimer()
		if _, err := Publish(ctx, root, WithRegistry(reg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRepublish: publishing the same tree again, which must push
// nothing (only HEAD requests to check the bundles are there).
func BenchmarkRepublish(b *testing.B) {
	ctx := context.Background()
	root := repositoryTree(b)
	reg := testregistry.Start(b) + "/trustline"
	if _, err := Publish(ctx, root, WithRegistry(reg)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := Publish(ctx, root, WithRegistry(reg))
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range rep.Bundles {
			if p.Pushed {
				b.Fatalf("republish pushed %s", p.Bundle)
			}
		}
	}
}
