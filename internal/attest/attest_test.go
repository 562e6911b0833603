package attest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/results"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

func TestParsePredicate(t *testing.T) {
	for name, tc := range map[string]struct {
		in, typ, want string // want: predicate type, or an error fragment
		ok            bool
	}{
		"cyclonedx":          {`{"bomFormat":"CycloneDX","specVersion":"1.6"}`, "cyclonedx", "https://cyclonedx.org/bom", true},
		"spdx":               {`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`, "spdxjson", "https://spdx.dev/Document", true},
		"slsa1":              {`{"buildDefinition":{},"runDetails":{}}`, "slsaprovenance1", "https://slsa.dev/provenance/v1", true},
		"slsa02":             {`{"builder":{"id":"x"},"buildType":"y"}`, "slsaprovenance02", "https://slsa.dev/provenance/v0.2", true},
		"vuln":               {`{"scanner":{"uri":"x"}}`, "vuln", "https://cosign.sigstore.dev/attestation/vuln/v1", true},
		"custom uri":         {`{"anything":1}`, "https://example.com/p/v1", "https://example.com/p/v1", true},
		"cdx as slsa":        {`{"bomFormat":"CycloneDX","specVersion":"1.6"}`, "slsaprovenance1", "does not match --type slsaprovenance1", false},
		"spdx as cdx":        {`{"spdxVersion":"SPDX-2.3","SPDXID":"x"}`, "cyclonedx", "does not match --type cyclonedx", false},
		"not json":           {`bomFormat: CycloneDX`, "cyclonedx", "not a JSON object", false},
		"array":              {`[1,2]`, "https://example.com/p", "not a JSON object", false},
		"null":               {`null`, "https://example.com/p", "not a JSON object", false},
		"two objects":        {`{} {}`, "https://example.com/p", "trailing data", false},
		"relative type":      {`{}`, "bom", "neither one of", false},
		"statement ok":       {`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[],"predicate":{"buildDefinition":{},"runDetails":{}}}`, "slsaprovenance1", "https://slsa.dev/provenance/v1", true},
		"statement of other": {`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://cyclonedx.org/bom","predicate":{}}`, "slsaprovenance1", "predicateType", false},
		"test result":        {`{"result":"PASSED"}`, "test-result", TestResultPredicateType, true},
		"test result bad":    {`{"result":"GREEN"}`, "test-result", "PASSED, WARNED or FAILED", false},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := ParsePredicate([]byte(tc.in), tc.typ)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if p.Type != tc.want {
					t.Fatalf("type %s, want %s", p.Type, tc.want)
				}
				if !json.Valid(p.Body) {
					t.Fatalf("body %s", p.Body)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	// A whole statement contributes only its predicate.
	p, err := ParsePredicate([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://cyclonedx.org/bom","predicate":{"bomFormat":"CycloneDX","specVersion":"1.5"}}`), "cyclonedx")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.Body), "_type") {
		t.Fatalf("statement not unwrapped: %s", p.Body)
	}
}

func TestTestResultPredicate(t *testing.T) {
	for in, want := range map[string]string{"SUCCESS": "PASSED", "WARNING": "WARNED", "FAILURE": "FAILED", "ERROR": "FAILED", "SKIPPED": "PASSED"} {
		raw := `{"result":"` + in + `","timestamp":"2026-11-26T10:00:00Z","note":"n","namespace":"default","successes":1,"failures":2,"warnings":3}`
		p, err := TestResultPredicate([]byte(raw), "scan", "https://ci.example/log/1")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Result     string         `json:"result"`
			URL        string         `json:"url"`
			TestOutput map[string]any `json:"testOutput"`
		}
		json.Unmarshal(p.Body, &got)
		if got.Result != want || got.URL != "https://ci.example/log/1" || got.TestOutput["failures"] != float64(2) {
			t.Errorf("%s: %s", in, p.Body)
		}
		// What we make passes our own check for the type.
		if _, err := ParsePredicate(p.Body, "test-result"); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	for _, bad := range []string{
		`{"result":"SUCCESS"}`, // no timestamp
		`{"result":"OK","timestamp":"2026-11-26T10:00:00Z"}`,
		`{"result":"SUCCESS","timestamp":"yesterday"}`,
		`{"result":"SUCCESS","timestamp":"2026-11-26T10:00:00Z","successes":-1}`,
		`{"result":"SUCCESS","timestamp":"2026-11-26T10:00:00Z","extra":1}`,
		`not json`,
	} {
		if _, err := TestResultPredicate([]byte(bad), "x", ""); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestRunWritesNothingOnFailure(t *testing.T) {
	ctx := context.Background()
	host := testregistry.Start(t)
	d := testregistry.PushRandom(t, host+"/app:v1")
	s := signingtest.NewSigner(t)
	missing := d.Context().Digest("sha256:" + strings.Repeat("a", 64))
	p, _ := ParsePredicate([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`), "cyclonedx")
	if _, err := Run(ctx, s, Request{Image: missing, Sign: true, Predicates: []Predicate{p}}); !errors.Is(err, cosignoci.ErrImageNotFound) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Run(ctx, s, Request{Image: missing}); err == nil {
		t.Fatal("empty request accepted")
	}
	tags, _ := remote.List(d.Context())
	if len(tags) != 1 {
		t.Fatalf("tags %v", tags)
	}
	// The happy path, read back.
	res, err := Run(ctx, s, Request{Image: d, Sign: true, Predicates: []Predicate{p}}, WithReferrers(true))
	if err != nil {
		t.Fatal(err)
	}
	if res.SignatureTag == "" || res.AttestationTag == "" || len(res.Referrers) != 1 || res.KeyID != s.KeyID() {
		t.Fatalf("result %+v", res)
	}
	v, _ := s.Verifier()
	atts, err := cosignoci.New().Attestations(ctx, d, cosignoci.WithReferrers())
	if err != nil || len(atts) != 2 {
		t.Fatalf("attestations %d %v", len(atts), err)
	}
	for _, a := range atts {
		if _, err := a.Verify(ctx, v, d); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParsePredicate(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`), "cyclonedx")
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{},"runDetails":{}}}`), "slsaprovenance1")
	f.Add([]byte(`{"_type":1}`), "https://x.example/y")
	f.Fuzz(func(t *testing.T, b []byte, typ string) {
		p, err := ParsePredicate(b, typ)
		if err != nil {
			return
		}
		if !json.Valid(p.Body) || len(p.Body) == 0 || p.Body[0] != '{' {
			t.Fatalf("accepted a predicate that is not a JSON object: %q", p.Body)
		}
	})
}

func FuzzParseTestOutput(f *testing.F) {
	f.Add([]byte(`{"result":"SUCCESS","timestamp":"2026-11-26T10:00:00Z","note":"","namespace":"default","successes":1,"failures":0,"warnings":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := results.ParseTestOutput(b); err != nil {
			return
		}
		p, err := TestResultPredicate(b, "t", "")
		if err != nil {
			t.Fatalf("valid TEST_OUTPUT rejected by TestResultPredicate: %v", err)
		}
		if !json.Valid(p.Body) {
			t.Fatalf("invalid JSON predicate from %q", b)
		}
	})
}

// BenchmarkRun signs a fresh image and attaches three attestations on the
// in-process registry, with the key already decrypted: the part of a step
// call that is not key decryption or process start.
func BenchmarkRun(b *testing.B) {
	ctx := context.Background()
	host := testregistry.Start(b)
	s := signingtest.NewSigner(b)
	var preds []Predicate
	for typ, body := range map[string]string{
		"slsaprovenance1": `{"buildDefinition":{"buildType":"x"},"runDetails":{"builder":{"id":"y"}}}`,
		"cyclonedx":       `{"bomFormat":"CycloneDX","specVersion":"1.6"}`,
		"vuln":            `{"scanner":{"uri":"z"}}`,
	} {
		p, err := ParsePredicate([]byte(body), typ)
		if err != nil {
			b.Fatal(err)
		}
		preds = append(preds, p)
	}
	var digests []name.Digest
	for i := 0; i < b.N; i++ {
		digests = append(digests, testregistry.PushRandom(b, host+"/app:v1"))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Run(ctx, s, Request{Image: digests[i], Sign: true, Predicates: preds}); err != nil {
			b.Fatal(err)
		}
	}
}
