package cosignoci

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r","digest":{"sha256":"ab"}}],"predicateType":"x","predicate":{}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicateType":"","predicate":[]}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":null}],"predicateType":"x","predicate":null}`))
	d, _ := name.NewDigest("r.example/a@sha256:" + "ab00000000000000000000000000000000000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatement(b)
		if err != nil {
			return
		}
		if st.PredicateType == "" || len(st.Subject) == 0 {
			t.Fatalf("accepted an incomplete statement: %s", b)
		}
		st.HasSubject(d)
	})
}

func FuzzEnvelopeFromBundle(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.2","messageSignature":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		EnvelopeFromBundle(b)
	})
}

func FuzzParseSimpleSigning(f *testing.F) {
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"},"optional":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseSimpleSigning(b)
		if err == nil && p.Critical.Image.DockerManifestDigest == "" {
			t.Fatal("accepted a payload without a digest")
		}
	})
}
