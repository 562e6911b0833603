package runner

import (
	"context"
	"encoding/json"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/signing/signingtest"
	"github.com/trustline-dev/trustline/internal/testregistry"
)

// TestChainsSignsWhatATaskRunBuilt pushes an image to a real registry on
// 127.0.0.1, runs a Task that reports it in IMAGE_URL/IMAGE_DIGEST, and
// checks that the .sig and the provenance .att verify with the key and
// describe that TaskRun.
// slsaPredicate is the part of Chains' SLSA v1.0 provenance these tests
// check.
type slsaPredicate struct {
	BuildDefinition struct {
		ExternalParameters struct {
			Runspec v1.TaskRunSpec `json:"runSpec"`
		} `json:"externalParameters"`
		ResolvedDependencies []struct {
			Name string `json:"name"`
		} `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Metadata struct {
			InvocationID string `json:"invocationID"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

func decodeSLSA(t *testing.T, predicate []byte) slsaPredicate {
	t.Helper()
	var pred slsaPredicate
	if err := json.Unmarshal(predicate, &pred); err != nil {
		t.Fatal(err)
	}
	return pred
}

func TestChainsSignsWhatATaskRunBuilt(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.Start(t)
	d := testregistry.PushRandom(t, reg+"/team/app:dev")

	signer, verifier := signingtest.NewKeyPair(t)
	r, progress := newRunner(t, WithChains(&Chains{Signer: signer}))
	task := loadTask(t, "task-image.yaml")
	params, err := ParseParams(task.Spec.Params, []string{"url=" + reg + "/team/app:dev", "digest=" + d.DigestStr()})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := r.RunTask(ctx, task, params, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	if tr.Annotations["chains.tekton.dev/signed"] != "true" {
		t.Errorf("annotations %v: no chains.tekton.dev/signed=true", tr.Annotations)
	}
	client := cosignoci.New()
	sigs, err := client.Signatures(ctx, d)
	if err != nil || len(sigs) != 1 {
		t.Fatalf("signatures: %v (%d)", err, len(sigs))
	}
	if _, err := sigs[0].Verify(ctx, verifier, d); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	atts, err := client.Attestations(ctx, d)
	if err != nil || len(atts) != 1 {
		t.Fatalf("attestations: %v (%d)", err, len(atts))
	}
	st, err := atts[0].Verify(ctx, verifier, d)
	if err != nil {
		t.Fatalf("attestation does not verify: %v", err)
	}
	if st.PredicateType != provenance.PredicateSLSA1 {
		t.Errorf("predicateType %s", st.PredicateType)
	}
	pred := decodeSLSA(t, st.Predicate)
	if pred.RunDetails.Metadata.InvocationID != string(tr.UID) {
		t.Errorf("invocationID %q, want the TaskRun's uid %s", pred.RunDetails.Metadata.InvocationID, tr.UID)
	}
	signed := r.Signed()
	if len(signed) != 1 || signed[0].Image.String() != d.String() {
		t.Errorf("Signed() = %+v", signed)
	}
}

// TestChainsSignsPipelineRun checks that a PipelineRun whose results name
// an image gets its own provenance (with its tasks) beside the TaskRun's.
func TestChainsSignsPipelineRun(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.Start(t)
	d := testregistry.PushRandom(t, reg+"/team/app:dev")
	signer, verifier := signingtest.NewKeyPair(t)
	// slsa-tekton records each TaskRun in the provenance (the default
	// build type records only tasks that came from a bundle).
	r, progress := newRunner(t, WithChains(&Chains{Signer: signer, Provenance: []provenance.Option{provenance.WithBuildType("https://tekton.dev/chains/v2/slsa-tekton")}}))
	p := loadPipeline(t, "pipeline-image.yaml")
	params, _ := ParseParams(p.Spec.Params, []string{"url=" + reg + "/team/app:dev", "digest=" + d.DigestStr()})
	run, err := r.RunPipeline(ctx, p, params, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	atts, err := cosignoci.New().Attestations(ctx, d)
	if err != nil || len(atts) != 2 {
		t.Fatalf("attestations: %v (%d), want the TaskRun's and the PipelineRun's", err, len(atts))
	}
	var tasks []string
	for _, a := range atts {
		st, err := a.Verify(ctx, verifier, d)
		if err != nil {
			t.Fatal(err)
		}
		pred := decodeSLSA(t, st.Predicate)
		if pred.RunDetails.Metadata.InvocationID == string(run.PipelineRun.UID) {
			for _, dep := range pred.BuildDefinition.ResolvedDependencies {
				tasks = append(tasks, dep.Name)
			}
		}
	}
	if n := countOf(tasks, "pipelineTask"); n != 2 {
		t.Errorf("PipelineRun provenance dependencies %v: want both pipeline tasks", tasks)
	}
	if run.PipelineRun.Annotations["chains.tekton.dev/signed"] != "true" {
		t.Errorf("PipelineRun annotations %v", run.PipelineRun.Annotations)
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestSubjects(t *testing.T) {
	dig := "sha256:" + "ab12000000000000000000000000000000000000000000000000000000000000"
	res := []v1.TaskRunResult{
		{Name: "IMAGE_URL", Value: *v1.NewStructuredValues("127.0.0.1:5000/a/b:tag")},
		{Name: "IMAGE_DIGEST", Value: *v1.NewStructuredValues(dig)},
		{Name: "SBOM_IMAGE_URL", Value: *v1.NewStructuredValues("127.0.0.1:5000/a/sbom")},
		{Name: "OTHER", Value: *v1.NewStructuredValues("x")},
	}
	got, err := Subjects(res, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].String() != "127.0.0.1:5000/a/b@"+dig {
		t.Errorf("subjects %v: want only the IMAGE_URL/IMAGE_DIGEST pair (a URL without digest is no subject)", got)
	}
	if _, err := Subjects([]v1.TaskRunResult{
		{Name: "IMAGE_URL", Value: *v1.NewStructuredValues("x/y")},
		{Name: "IMAGE_DIGEST", Value: *v1.NewStructuredValues("not-a-digest")},
	}, false); err == nil {
		t.Error("a malformed IMAGE_DIGEST was accepted")
	}
}
