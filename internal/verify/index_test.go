package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
)

// An index is verified as a whole, and each platform image must be
// signed too.
func TestIndexAndPlatformImages(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	push := func(repo string, signChildren []bool) name.Digest {
		idx := v1.ImageIndex(empty.Index)
		var children []name.Digest
		for i, sign := range signChildren {
			img, _ := random.Image(128, 1)
			tag, _ := name.NewTag(e.reg + "/" + repo + ":child" + string(rune('a'+i)))
			if err := remote.Write(tag, img); err != nil {
				t.Fatal(err)
			}
			h, _ := img.Digest()
			d := tag.Context().Digest(h.String())
			children = append(children, d)
			if sign {
				if err := fixture.Attach(ctx, d, fixture.Image{Signer: e.signer, Sign: true}); err != nil {
					t.Fatal(err)
				}
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: []string{"amd64", "arm64"}[i]}}})
		}
		tag, _ := name.NewTag(e.reg + "/" + repo + ":latest")
		if err := remote.WriteIndex(tag, idx); err != nil {
			t.Fatal(err)
		}
		h, _ := idx.Digest()
		d := tag.Context().Digest(h.String())
		im := e.goodImage(repo)
		if err := fixture.Attach(ctx, d, im); err != nil {
			t.Fatal(err)
		}
		return d
	}
	push("multi", []bool{true, true})
	push("halfsigned", []bool{true, false})
	rep := e.verify(t, e.policy(trusted()), []verify.Image{{Name: "multi", Ref: e.reg + "/multi:latest"}, {Name: "half", Ref: e.reg + "/halfsigned:latest"}})
	if c := rep.Components[0]; !c.Success {
		t.Errorf("signed index: %+v %s", c.Violations, c.Error)
	}
	c := rep.Components[1]
	if c.Success || len(c.Violations) != 1 || c.Violations[0].Metadata.Code != "builtin.image.signature_check" || !strings.Contains(c.Violations[0].Msg, "platform image") {
		t.Errorf("index with an unsigned platform image: %+v", c.Violations)
	}
}
