package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/outfile"
)

// VSAPredicateType is the SLSA verification summary predicate.
const VSAPredicateType = "https://slsa.dev/verification_summary/v1"

// VerifierID names trustline's verify-policy as a SLSA verifier.
const VerifierID = "https://github.com/trustline-dev/trustline/steps/verify-policy"

// VSA is the predicate of a verification summary attestation.
type VSA struct {
	Verifier           VSAVerifier        `json:"verifier"`
	TimeVerified       string             `json:"timeVerified"`
	ResourceURI        string             `json:"resourceUri"`
	Policy             VSAResource        `json:"policy"`
	InputAttestations  []VSAResource      `json:"inputAttestations,omitempty"`
	VerificationResult string             `json:"verificationResult"`
	VerifiedLevels     []string           `json:"verifiedLevels"`
	DependencyLevels   map[string]float64 `json:"dependencyLevels,omitempty"`
	SLSAVersion        string             `json:"slsaVersion"`
}

// VSAVerifier identifies the verifier.
type VSAVerifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// VSAResource is an in-toto resource descriptor.
type VSAResource struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

// levels says which SLSA build levels the passed checks support: L1 when
// provenance verified; L2 when it is signed and from an allowed builder;
// L3 when, in addition, every task that ran is a trusted task.
func levels(vr *verified, rules map[string]bool) []string {
	out := []string{}
	if !vr.provenanceOK {
		return out
	}
	out = append(out, "SLSA_BUILD_LEVEL_1")
	if rules["provenance.builder_trusted"] {
		out = append(out, "SLSA_BUILD_LEVEL_2")
		if rules["trusted_task.trusted"] && rules["trusted_task.current"] {
			out = append(out, "SLSA_BUILD_LEVEL_3")
		}
	}
	return out
}

func digestMap(d string) map[string]string {
	alg, hex, _ := strings.Cut(d, ":")
	return map[string]string{alg: hex}
}

func (v *Verifier) writeVSA(ctx context.Context, vr *verified) (string, error) {
	rules := vr.passed
	pred := VSA{
		Verifier:           VSAVerifier{ID: VerifierID},
		TimeVerified:       v.o.now().UTC().Format("2006-01-02T15:04:05Z"),
		ResourceURI:        vr.digest.String(),
		Policy:             VSAResource{URI: v.rep.URI, Digest: digestMap(v.rep.Digest)},
		VerificationResult: "PASSED",
		VerifiedLevels:     levels(vr, rules),
		SLSAVersion:        "1.0",
	}
	if pred.Policy.URI == "" {
		pred.Policy.URI = v.rep.Name
	}
	for _, a := range vr.atts {
		pred.InputAttestations = append(pred.InputAttestations, VSAResource{URI: cosignoci.AttestationTag(vr.digest).String(), Digest: digestMap(a.Digest)})
	}
	pb, err := json.Marshal(pred)
	if err != nil {
		return "", err
	}
	st := cosignoci.NewStatement(vr.digest, VSAPredicateType, pb)
	sb, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	env, err := v.o.vsaSigner.SignDSSE(ctx, cosignoci.InTotoPayloadType, sb)
	if err != nil {
		return "", err
	}
	where := ""
	if v.o.vsaDir != "" {
		if err := os.MkdirAll(v.o.vsaDir, 0o755); err != nil {
			return "", err
		}
		file := filepath.Join(v.o.vsaDir, strings.NewReplacer("/", "_", ":", "_", "@", "_").Replace(vr.digest.String())+".vsa.json")
		if err := outfile.Write(file, env); err != nil {
			return "", err
		}
		where = file
	}
	if v.o.pushVSA {
		tag, err := v.client.AppendAttestations(ctx, vr.digest, cosignoci.Attestation{Envelope: env, PredicateType: VSAPredicateType})
		if err != nil {
			return "", fmt.Errorf("pushing to %s: %w", tag, err)
		}
		where = tag.String()
	}
	return where, nil
}
