package cosignoci

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
)

func cdx(serial string) SBOMDocument {
	return SBOMDocument{
		Data:            []byte(`{"bomFormat":"CycloneDX","serialNumber":"` + serial + `"}`),
		MediaType:       "application/vnd.cyclonedx+json",
		CosignMediaType: "application/vnd.cyclonedx+json",
		Title:           "sbom.cyclonedx.json",
	}
}

func TestSBOMNewestReferrerThenTag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := pushRandom(t, testregistry.Start(t), "team/app")
	subject, err := remote.Head(d)
	if err != nil {
		t.Fatal(err)
	}
	c := New()
	older, newer := cdx("older"), cdx("newer")
	older.Created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newer.Created = older.Created.Add(time.Hour)
	// Attached out of order: the referrer's date decides, not the order.
	aNewer, err := c.AttachSBOM(ctx, d.Repository, *subject, newer)
	if err != nil {
		t.Fatal(err)
	}
	aOlder, err := c.AttachSBOM(ctx, d.Repository, *subject, older)
	if err != nil {
		t.Fatal(err)
	}
	if aOlder.Tag.String() != SBOMTag(d).String() || !strings.HasSuffix(aOlder.Tag.TagStr(), ".sbom") {
		t.Errorf("tag = %s, want %s", aOlder.Tag, SBOMTag(d))
	}
	if got, want := aNewer.BlobURL(), d.Repository.Name()+"@"+aNewer.Blob.String(); got != want {
		t.Errorf("BlobURL = %s, want %s", got, want)
	}

	got, err := c.SBOM(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != string(newer.Data) || got.Where != "referrer "+aNewer.Referrer.DigestStr() || got.Image.String() != d.String() {
		t.Errorf("SBOM = %s from %s of %s, want the newer referrer", got.Data, got.Where, got.Image)
	}

	// Without referrers, cosign's tag holds the last one attached.
	for _, ref := range []name.Digest{aNewer.Referrer, aOlder.Referrer} {
		if err := remote.Delete(ref); err != nil {
			t.Fatal(err)
		}
	}
	got, err = c.SBOM(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != string(older.Data) || got.Where != "tag "+SBOMTag(d).String() {
		t.Errorf("SBOM = %s from %s, want the tag's", got.Data, got.Where)
	}
}

func TestSBOMNothingAttached(t *testing.T) {
	t.Parallel()
	d := pushRandom(t, testregistry.Start(t), "x/y")
	_, err := New().SBOM(context.Background(), d)
	if !errors.Is(err, ErrNoSBOM) || !strings.Contains(err.Error(), d.String()) {
		t.Errorf("SBOM = %v, want ErrNoSBOM naming %s", err, d)
	}
}

// A registry that fails the referrers call must not pass for one without
// referrers: the scan would read the tag's SBOM, or none, instead of the
// newest.
func TestSBOMReferrersFailureIsAnError(t *testing.T) {
	t.Parallel()
	p := faulty.Start(t, testregistry.Start(t), &faulty.Rule{Path: "/referrers/", Fault: faulty.Status(http.StatusForbidden, "")})
	d := pushRandom(t, p.Host, "team/app")
	_, err := New().SBOM(context.Background(), d)
	if err == nil || errors.Is(err, ErrNoSBOM) || !strings.Contains(err.Error(), "referrers of") {
		t.Errorf("SBOM = %v, want the referrers failure", err)
	}
}
