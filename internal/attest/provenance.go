package attest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/provenance"
	"github.com/trustline-dev/trustline/internal/signing"
)

// ProvenancePredicate makes SLSA provenance for a finished TaskRun or
// PipelineRun file with Chains' formatter (see internal/provenance) and
// returns it as a Predicate whose Statement is Chains' statement, byte for
// byte, so the attestation is what Chains would store for the image. The
// image must be one of the statement's subjects: provenance for another
// run's output is refused. children are a PipelineRun's TaskRun files.
func ProvenancePredicate(ctx context.Context, runFile string, children []string, f provenance.Format, image name.Digest, opts ...provenance.Option) (Predicate, error) {
	run, err := provenance.ParseFile(runFile)
	if err != nil {
		return Predicate{}, fmt.Errorf("provenance run: %w", err)
	}
	var st []byte
	switch {
	case run.TaskRun != nil:
		if len(children) > 0 {
			return Predicate{}, fmt.Errorf("%s is a TaskRun: child TaskRuns only go with a PipelineRun", runFile)
		}
		st, err = provenance.TaskRun(ctx, run.TaskRun, f, opts...)
	default:
		var trs []*pipelinev1.TaskRun
		for _, c := range children {
			cr, err := provenance.ParseFile(c)
			if err != nil {
				return Predicate{}, fmt.Errorf("child TaskRun: %w", err)
			}
			if cr.TaskRun == nil {
				return Predicate{}, fmt.Errorf("%s: not a TaskRun", c)
			}
			trs = append(trs, cr.TaskRun)
		}
		st, err = provenance.PipelineRun(ctx, run.PipelineRun, trs, f, opts...)
	}
	if err != nil {
		return Predicate{}, fmt.Errorf("%s: %w", runFile, err)
	}
	parsed, err := cosignoci.ParseStatement(st)
	if err != nil {
		return Predicate{}, fmt.Errorf("%s: Chains made no usable statement (a run without image results has no subject): %w", runFile, err)
	}
	if !parsed.HasSubject(image) {
		var names []string
		for _, s := range parsed.Subject {
			names = append(names, s.Name)
		}
		return Predicate{}, fmt.Errorf("%s: the provenance's subjects %v do not include %s", runFile, names, image)
	}
	return Predicate{Type: f.PredicateType(), Body: parsed.Predicate, Statement: st, Source: runFile}, nil
}

// Provenance signs a run's provenance statement (Chains' statement, as
// internal/provenance makes it) and attaches it to each of subjects with a
// simple-signing signature, as Tekton Chains does when a TaskRun or
// PipelineRun ends. The statement is signed once and the same envelope
// goes to every subject, since it names them all. It returns a Result per
// subject done, in order, also when it stops at a failure.
func Provenance(ctx context.Context, signer *signing.Signer, statement []byte, predicateType string, subjects []name.Digest, opts ...Option) ([]Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	att, err := envelope(ctx, signer, statement, predicateType)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, d := range subjects {
		res := Result{Image: d.String(), KeyID: signer.KeyID(), PredicateTypes: []string{predicateType}}
		sig, err := signature(ctx, signer, d)
		if err == nil {
			err = attach(ctx, o, signer, d, sig, []cosignoci.Attestation{att}, &res)
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", d, err)
		}
		out = append(out, res)
	}
	return out, nil
}
