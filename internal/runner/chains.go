package runner

import (
	"context"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/attest"
	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/signing"
)

// Chains does locally what Tekton Chains does on a cluster when a TaskRun
// finishes: for each image the TaskRun reports (IMAGE_URL + IMAGE_DIGEST,
// <X>_IMAGE_URL + <X>_IMAGE_DIGEST, IMAGES), SLSA provenance made by
// Chains' own formatter (internal/provenance), signed as a DSSE envelope
// and appended to the image's .att, and a simple-signing signature
// appended to its .sig. The TaskRun then carries Chains' annotation
// chains.tekton.dev/signed=true.
type Chains struct {
	Signer *signing.Signer
	// Client writes .sig and .att; the default is internal/attest's.
	Client *cosignoci.Client
	// Format is the provenance format; the default is SLSA v1.0.
	Format provenance.Format
	// Insecure allows plain HTTP to any registry (loopback always may).
	Insecure bool
	// Options for the provenance formatter (builder id, build type).
	Provenance []provenance.Option
}

// Signed is what Chains wrote for one image.
type Signed struct {
	// TaskRun is the TaskRun's (or PipelineRun's) name.
	TaskRun     string
	Image       name.Digest
	Signature   name.Tag
	Attestation name.Tag
	// Provenance is the file holding the in-toto statement.
	Provenance string
}

// afterTaskRun runs Chains for a finished, successful TaskRun.
func (r *Runner) afterTaskRun(ctx context.Context, tr *v1.TaskRun) error {
	c := r.o.chains
	if c == nil || !succeeded(tr) {
		return nil
	}
	subjects, err := Subjects(tr.Status.Results, c.Insecure)
	if err != nil || len(subjects) == 0 {
		return err
	}
	stmt, err := provenance.TaskRun(ctx, tr, c.format(), c.Provenance...)
	if err != nil {
		return err
	}
	if err := r.sign(ctx, tr.Name, filepath.Join(r.o.workDir, tr.Name), stmt, subjects); err != nil {
		return err
	}
	if tr.Annotations == nil {
		tr.Annotations = map[string]string{}
	}
	tr.Annotations["chains.tekton.dev/signed"] = "true"
	return nil
}

// afterPipelineRun runs Chains for a finished PipelineRun whose results
// name an image: provenance of the whole run (with its TaskRuns), as
// Chains' pipelinerun artifacts do.
func (r *Runner) afterPipelineRun(ctx context.Context, run *Run) error {
	c := r.o.chains
	pr := run.PipelineRun
	if c == nil {
		return nil
	}
	var res []v1.TaskRunResult
	for _, x := range pr.Status.Results {
		res = append(res, v1.TaskRunResult{Name: x.Name, Type: v1.ResultsType(x.Value.Type), Value: x.Value})
	}
	subjects, err := Subjects(res, c.Insecure)
	if err != nil || len(subjects) == 0 {
		return err
	}
	stmt, err := provenance.PipelineRun(ctx, pr, run.TaskRuns, c.format(), c.Provenance...)
	if err != nil {
		return err
	}
	if err := r.sign(ctx, pr.Name, r.o.workDir, stmt, subjects); err != nil {
		return err
	}
	pr.Annotations["chains.tekton.dev/signed"] = "true"
	return nil
}

func (c *Chains) format() provenance.Format {
	if c.Format == "" {
		return provenance.SLSA1
	}
	return c.Format
}

// sign writes the statement into dir, then has internal/attest sign it
// and attach it, with a signature, to each subject.
func (r *Runner) sign(ctx context.Context, run, dir string, stmt []byte, subjects []name.Digest) error {
	c := r.o.chains
	path := filepath.Join(dir, run+".provenance.intoto.json")
	if err := os.WriteFile(path, stmt, 0o644); err != nil {
		return err
	}
	var opts []attest.Option
	if c.Client != nil {
		opts = append(opts, attest.WithClient(c.Client))
	}
	done, err := attest.Provenance(ctx, c.Signer, stmt, c.format().PredicateType(), subjects, opts...)
	// attest writes under cosign's tags for the image, which Signed
	// carries as references.
	for _, d := range subjects[:len(done)] {
		r.recordSigned(Signed{TaskRun: run, Image: d, Signature: cosignoci.SignatureTag(d), Attestation: cosignoci.AttestationTag(d), Provenance: path})
	}
	return err
}

func (r *Runner) recordSigned(s Signed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signed = append(r.signed, s)
}

// Signed lists what Chains signed so far, in order.
func (r *Runner) Signed() []Signed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Signed(nil), r.signed...)
}
