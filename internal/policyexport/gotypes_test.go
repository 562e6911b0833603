package policyexport

import (
	"context"
	"testing"

	pcv1beta1 "github.com/sigstore/policy-controller/pkg/apis/policy/v1beta1"
	"sigs.k8s.io/yaml"
)

// policy-controller's Go module (v0.13.1) builds with trustline's
// dependencies, so the export is also decoded strictly into its
// v1beta1.ClusterImagePolicy and checked by the controller's own
// validation (the admission check it runs on a ClusterImagePolicy: globs,
// the key parses, attestation names and policies). Kyverno's module does
// not (see docs/deploy-gate.md): its export is checked against the CRD
// schema only.
func TestPolicyControllerGoTypes(t *testing.T) {
	out, err := Export(PolicyController, Spec{Images: []string{"registry.example.com/org/**", "quay.io/team/app*"}, PublicKey: []byte(testKey),
		PredicateTypes: []string{SLSAProvenance, "https://slsa.dev/provenance/v0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	var cip pcv1beta1.ClusterImagePolicy
	if err := yaml.UnmarshalStrict(out, &cip); err != nil {
		t.Fatalf("strict decode into policy-controller's ClusterImagePolicy: %v", err)
	}
	if ferr := cip.Validate(context.Background()); ferr != nil {
		t.Fatalf("policy-controller's validation: %v", ferr)
	}
	if len(cip.Spec.Authorities) != 2 || cip.Spec.Authorities[1].Key == nil || len(cip.Spec.Authorities[1].Attestations) != 2 || cip.Spec.Authorities[0].CTLog != nil {
		t.Errorf("authorities: %+v", cip.Spec.Authorities)
	}
	// The validation has teeth: a key that does not parse fails it.
	cip.Spec.Authorities[0].Key.Data = "-----BEGIN PUBLIC KEY-----\nbm9wZQ==\n-----END PUBLIC KEY-----\n"
	if cip.Validate(context.Background()) == nil {
		t.Error("a broken key passed policy-controller's validation")
	}
}
