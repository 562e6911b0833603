package adversarial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/attest"
	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/sbom"
	"github.com/trustline-dev/trustline/internal/sbom/sbomtest"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
)

// retried is how long bounded retries may take at most (remoteopt's
// backoff: four steps from 250 ms, doubling), with room for a loaded
// machine.
const retried = 60 * time.Second

// A registry that misbehaves (429 with Retry-After, 5xx, dropped
// connections, slow answers, changed or truncated bodies) makes each
// step either succeed after bounded retries or fail with an error; a
// step that fails pushes nothing, and changed bytes are always an error.
func TestRegistryFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	layer := sbomtest.DebianLayer(t, sbomtest.DpkgEntry{Name: "libc6", Version: "2.36-9"})
	img := testimage.Image(t, "amd64", nil, layer)
	dig := testregistry.Push(t, e.reg+"/faults/app:1", img)
	ld, _ := layer.Digest()
	blob := "/blobs/" + ld.String()
	good := e.push(e.good("faults/good"))
	// The scan step reads the SBOM the sbom step attached: a referrer
	// first, then cosign's .sbom tag.
	withSBOM, err := sbom.Generate(ctx, sbom.Request{Reference: dig, Format: sbom.CycloneDX, Attach: true})
	if err != nil {
		t.Fatal(err)
	}
	sbomBlob := "/blobs/" + withSBOM.Attachment.Blob.String()
	kp, pred := attestInputs(t)

	type outcome struct{ ok, pushed bool }
	type fcase struct {
		step, fault string
		rules       []*faulty.Rule
		want        string // "success" or "error"
	}
	cases := []fcase{
		{"sbom", "429 with Retry-After, twice, on the layer", []*faulty.Rule{{Method: "GET", Path: blob, Times: 2, Fault: faulty.Status(http.StatusTooManyRequests, "1")}}, "success"},
		{"sbom", "503 on the layer, once", []*faulty.Rule{{Method: "GET", Path: blob, Times: 1, Fault: faulty.Status(http.StatusServiceUnavailable, "")}}, "success"},
		{"sbom", "500 on the layer, always", []*faulty.Rule{{Method: "GET", Path: blob, Fault: faulty.Status(http.StatusInternalServerError, "")}}, "error"},
		{"sbom", "connection dropped mid-layer, always", []*faulty.Rule{{Method: "GET", Path: blob, Fault: faulty.DropAfter(64)}}, "error"},
		{"sbom", "slow answers (300 ms each)", []*faulty.Rule{{Fault: faulty.Slow(300 * time.Millisecond)}}, "success"},
		{"sbom", "layer bytes changed", []*faulty.Rule{{Method: "GET", Path: blob, Fault: faulty.Rewrite(func(b []byte) []byte { b[len(b)/2] ^= 1; return b })}}, "error"},
		{"sbom", "manifest truncated", []*faulty.Rule{{Method: "GET", Path: "/manifests/", Fault: faulty.Truncate(40)}}, "error"},
		{"verify-policy", "429 with Retry-After, twice, on .sig", []*faulty.Rule{{Method: "GET", Path: ".sig", Times: 2, Fault: faulty.Status(http.StatusTooManyRequests, "1")}}, "success"},
		{"verify-policy", "503 on every manifest, always", []*faulty.Rule{{Path: "/manifests/", Fault: faulty.Status(http.StatusServiceUnavailable, "")}}, "error"},
		{"verify-policy", "connection dropped on every manifest", []*faulty.Rule{{Path: "/manifests/", Fault: faulty.Drop()}}, "error"},
		{"verify-policy", ".att manifest truncated", []*faulty.Rule{{Method: "GET", Path: ".att", Fault: faulty.Truncate(40)}}, "error"},
		{"scan", "429 with Retry-After, twice, on the referrers call", []*faulty.Rule{{Method: "GET", Path: "/referrers/", Times: 2, Fault: faulty.Status(http.StatusTooManyRequests, "1")}}, "success"},
		{"scan", "503 on the referrers call, always", []*faulty.Rule{{Method: "GET", Path: "/referrers/", Fault: faulty.Status(http.StatusServiceUnavailable, "")}}, "error"},
		{"scan", "slow answers (300 ms each)", []*faulty.Rule{{Fault: faulty.Slow(300 * time.Millisecond)}}, "success"},
		{"scan", "connection dropped mid-SBOM, always", []*faulty.Rule{{Method: "GET", Path: sbomBlob, Fault: faulty.DropAfter(64)}}, "error"},
		{"scan", "SBOM bytes changed", []*faulty.Rule{{Method: "GET", Path: sbomBlob, Fault: faulty.Rewrite(func(b []byte) []byte { return bytes.Replace(b, []byte("libc6"), []byte("libc7"), 1) })}}, "error"},
		{"scan", "referrers index truncated", []*faulty.Rule{{Method: "GET", Path: "/referrers/", Fault: faulty.Truncate(40)}}, "error"},
		{"build", "429 with Retry-After, twice, on the blob upload", []*faulty.Rule{{Method: "POST", Path: "/blobs/uploads/", Times: 2, Fault: faulty.Status(http.StatusTooManyRequests, "1")}}, "success"},
		{"build", "503 on the manifest push, once", []*faulty.Rule{{Method: "PUT", Path: "/manifests/", Times: 1, Fault: faulty.Status(http.StatusServiceUnavailable, "")}}, "success"},
		{"build", "slow answers (300 ms each)", []*faulty.Rule{{Fault: faulty.Slow(300 * time.Millisecond)}}, "success"},
		{"build", "500 on the manifest push, always", []*faulty.Rule{{Method: "PUT", Path: "/manifests/", Fault: faulty.Status(http.StatusInternalServerError, "")}}, "error"},
		{"build", "connection dropped on every blob upload", []*faulty.Rule{{Method: "PUT", Path: "/blobs/uploads/", Fault: faulty.Drop()}}, "error"},
		{"attest", "slow answers (300 ms each)", []*faulty.Rule{{Fault: faulty.Slow(300 * time.Millisecond)}}, "success"},
		{"attest", "429 with Retry-After, twice, on the image", []*faulty.Rule{{Path: "/manifests/sha256:", Times: 2, Fault: faulty.Status(http.StatusTooManyRequests, "1")}}, "success"},
		{"attest", "503 on the image, always", []*faulty.Rule{{Path: "/manifests/sha256:", Fault: faulty.Status(http.StatusServiceUnavailable, "")}}, "error"},
		{"attest", "connection dropped on the image, always", []*faulty.Rule{{Path: "/manifests/sha256:", Fault: faulty.Drop()}}, "error"},
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tFAULT\tEXPECTED\tGOT\tTIME")
	builder := newBuilder(t)
	for i, c := range cases {
		p := faulty.Start(t, e.reg, c.rules...)
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 2*retried)
		var err error
		var writesBefore int
		// pushed is whether the step wrote to the registry: any write for
		// the steps that only push signatures, attestations and SBOMs,
		// which must push nothing when they fail; a manifest under the
		// tag for the build, whose failed push may leave unreferenced
		// blobs (as any registry client does) but never an image.
		var pushed bool
		switch c.step {
		case "build":
			err, pushed = buildPush(cctx, builder, p, e.reg, fmt.Sprintf("faults/built%d", i))
		case "sbom":
			d, _ := name.NewDigest(p.Host + "/faults/app@" + dig.DigestStr())
			_, err = sbom.Generate(cctx, sbom.Request{Reference: d, Format: sbom.CycloneDX}, sbom.WithRemoteOptions(remoteopt.Options(cctx)...))
		case "scan":
			d, _ := name.NewDigest(p.Host + "/faults/app@" + dig.DigestStr())
			var s *cosignoci.AttachedSBOM
			if s, err = cosignoci.New(cosignoci.WithRemoteOptions(remoteopt.Options(cctx)...)).SBOM(cctx, d); err == nil && !bytes.Equal(s.Data, withSBOM.Document) {
				err = fmt.Errorf("read an SBOM that is not the one attached (from %s)", s.Where)
			}
		case "verify-policy":
			d, _ := name.NewDigest(p.Host + "/faults/good@" + good.DigestStr())
			var v *verify.Verifier
			v, err = verify.New(cctx, e.policy(trustedRuleData(fixture.TrustedTasks(now.AddDate(-1, 0, 0), time.Time{}))), e.key, verify.WithClock(func() time.Time { return now }))
			if err == nil {
				rep, verr := v.Verify(cctx, []verify.Image{ref(d)})
				v.Close()
				switch {
				case verr != nil:
					err = verr
				case rep.Components[0].Error != "":
					err = errors.New(rep.Components[0].Error)
				case !rep.Success:
					err = fmt.Errorf("violations instead of an error: %v", codes(rep.Components[0].Violations))
					if c.want == "error" {
						t.Errorf("verify-policy, %s: a registry fault became a verdict: %v", c.fault, err)
					}
				}
			}
		case "attest":
			writesBefore = len(p.Writes())
			d, _ := name.NewDigest(p.Host + "/faults/app@" + dig.DigestStr())
			_, err = attest.Run(cctx, kp, attest.Request{Image: d, Sign: true, Predicates: pred}, attest.WithRemoteOptions(remoteopt.Options(cctx)...))
		}
		cancel()
		took := time.Since(start)
		if c.step != "build" {
			pushed = len(p.Writes()) > writesBefore
		}
		got := "success"
		if err != nil {
			got = "error: " + err.Error()
			if len(got) > 100 { // the end of an error says what is wrong
				got = "…" + got[len(got)-100:]
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.step, c.fault, c.want, got, took.Round(time.Millisecond))
		switch {
		case c.want == "success" && err != nil:
			t.Errorf("%s, %s: %v", c.step, c.fault, err)
		case c.want == "error" && err == nil:
			t.Errorf("%s, %s: succeeded", c.step, c.fault)
		}
		if err != nil && pushed {
			t.Errorf("%s, %s: failed but pushed %v", c.step, c.fault, p.Writes())
		}
		if c.step == "sbom" && strings.Contains(c.fault, "changed") && !errors.Is(err, sbom.ErrDigestMismatch) {
			t.Errorf("%s, %s: err = %v, want a digest mismatch", c.step, c.fault, err)
		}
		// go-containerregistry's verifying reader, which the scan step
		// reads the SBOM through.
		if c.step == "scan" && strings.Contains(c.fault, "changed") && !strings.Contains(fmt.Sprint(err), "error verifying sha256 checksum") {
			t.Errorf("%s, %s: err = %v, want a digest mismatch", c.step, c.fault, err)
		}
		if took > retried {
			t.Errorf("%s, %s: took %s, retries are not bounded", c.step, c.fault, took)
		}
	}
	tw.Flush()
	t.Logf("registry faults:\n%s", buf.String())
}

// attestInputs is a signing key and an SBOM predicate for attest.
func attestInputs(t *testing.T) (*signing.Signer, []attest.Predicate) {
	t.Helper()
	s := signingtest.NewSigner(t)
	p, err := attest.ParsePredicate([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`), "cyclonedx")
	if err != nil {
		t.Fatal(err)
	}
	return s, []attest.Predicate{p}
}
