package adversarial

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/sbom"
	"github.com/trustline-dev/trustline/internal/sbom/sbomtest"
	"github.com/trustline-dev/trustline/internal/testimage"
	"github.com/trustline-dev/trustline/internal/testregistry"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
)

// manifestLimit is go-containerregistry's bound on a manifest read
// (remote.manifestLimit, not exported), which docs/security.md names.
const manifestLimit = 100 << 20

// limitCases are the resource limits of docs/security.md that the other
// cases do not reach (layer size, entries and policy input are cases of
// their own): each oversized object, as a registry would serve it, ends
// in an error naming the limit, and nothing is read beyond it. Objects
// declared larger than a limit are refused from their descriptor, so the
// cases push manifests that declare sizes no blob has.
func limitCases(t *testing.T, e *env) []row {
	app := testimage.Image(t, "amd64", nil, sbomtest.DebianLayer(t, sbomtest.DpkgEntry{Name: "libc6", Version: "2.36-9"}))
	dig := testregistry.Push(t, e.reg+"/limits/app:1", app)
	var rows []row

	// A manifest one byte over the limit: JSON padded with spaces, so
	// only its size is wrong.
	p := faulty.Start(t, e.reg, &faulty.Rule{Method: "GET", Path: "/manifests/", Fault: faulty.Rewrite(func(b []byte) []byte {
		return append(b, bytes.Repeat([]byte(" "), manifestLimit+1-len(b))...)
	})})
	viaProxy, _ := name.NewTag(p.Host + "/limits/app:1")
	_, err := sbom.Generate(e.ctx, sbom.Request{Reference: viaProxy, Format: sbom.CycloneDX})
	want := fmt.Sprintf("exceeds %d byte limit", manifestLimit)
	rows = append(rows, errRow("limit: manifest over 100 MiB (sbom)", "error: "+want, err, strings.Contains(fmt.Sprint(err), want)))

	// A config declared one byte over the limit.
	m, err := app.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	big := m.DeepCopy()
	big.Config.Size = remoteopt.MaxConfigSize + 1
	bigConfig := e.putManifest(e.reg+"/limits/bigconfig:1", big)
	_, err = sbom.Generate(e.ctx, sbom.Request{Reference: bigConfig, Format: sbom.CycloneDX})
	want = fmt.Sprintf("more than the %d allowed", remoteopt.MaxConfigSize)
	rows = append(rows, errRow("limit: config over 8 MiB (sbom)", "error: config "+want, err, strings.Contains(fmt.Sprint(err), "config: config sha256:") && strings.Contains(fmt.Sprint(err), want)))
	// verify-policy reads the config for the policy input, signed or not.
	rows = append(rows, e.run(verifyCase{name: "limit: config over 8 MiB (verify-policy)", image: ref(bigConfig), want: "error: " + want}))

	// An SBOM whose layer declares one byte over the limit, under
	// cosign's .sbom tag.
	sbomManifest := artifactManifest(types.MediaType("spdx+json"), cosignoci.MaxSBOMSize+1)
	e.putManifest(e.reg+"/limits/app:"+strings.Replace(dig.DigestStr(), ":", "-", 1)+".sbom", sbomManifest)
	_, err = cosignoci.New().SBOM(e.ctx, dig)
	want = fmt.Sprintf("more than the %d allowed", cosignoci.MaxSBOMSize)
	rows = append(rows, errRow("limit: SBOM over 256 MiB (scan)", "error: SBOM layer "+want, err, strings.Contains(fmt.Sprint(err), want)))

	// A signature layer one byte over the limit, under the .sig tag.
	sigOf := e.push(e.good("limits/bigsig"))
	e.putManifest(cosignoci.SignatureTag(sigOf).String(), artifactManifest(types.MediaType(cosignoci.SimpleSigningMediaType), cosignoci.MaxLayerSize+1))
	want = fmt.Sprintf("more than the %d allowed", cosignoci.MaxLayerSize)
	rows = append(rows, e.run(verifyCase{name: "limit: signature layer over 32 MiB (verify-policy)", image: ref(sigOf), want: "error: " + want}))
	return rows
}

// artifactManifest is an OCI manifest with one layer of media type mt
// that declares size bytes.
func artifactManifest(mt types.MediaType, size int64) *v1.Manifest {
	return &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: 2, Digest: v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}},
		Layers:        []v1.Descriptor{{MediaType: mt, Size: size, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}}},
	}
}

// putManifest pushes m as it is under tag, whether or not its blobs
// exist, and returns its digest.
func (e *env) putManifest(tag string, m *v1.Manifest) name.Digest {
	e.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := remote.Put(ref, rawManifest{b: b, mt: m.MediaType}, remote.WithContext(e.ctx)); err != nil {
		e.t.Fatal(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }
