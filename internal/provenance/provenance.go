// Package provenance turns a finished Tekton TaskRun or PipelineRun (v1,
// with its status) into SLSA provenance, using Tekton Chains' own
// formatters (github.com/tektoncd/chains v0.26.0): "slsa/v2alpha4" for SLSA
// v1.0 and "slsa/v1" for SLSA v0.2. The statement is serialized the way
// Chains serializes it before signing (protojson for SLSA v1.0, encoding/json
// for v0.2), so what is made here is what Chains would sign on a cluster for
// the same run and configuration.
package provenance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/tektoncd/chains/pkg/chains/formats"
	slsav1 "github.com/tektoncd/chains/pkg/chains/formats/slsa/v1"
	"github.com/tektoncd/chains/pkg/chains/formats/slsa/v2alpha4"
	"github.com/tektoncd/chains/pkg/chains/objects"
	"github.com/tektoncd/chains/pkg/config"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/provenance/runfile"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"knative.dev/pkg/logging"
)

// Format selects the provenance version.
type Format string

const (
	// SLSA1 is SLSA v1.0 provenance (Chains' "slsa/v2alpha4"), predicate
	// type https://slsa.dev/provenance/v1.
	SLSA1 Format = "slsa/v1.0"
	// SLSA02 is SLSA v0.2 provenance (Chains' "slsa/v1"), predicate type
	// https://slsa.dev/provenance/v0.2.
	SLSA02 Format = "slsa/v0.2"
)

// Predicate types of the two formats.
const (
	PredicateSLSA1  = "https://slsa.dev/provenance/v1"
	PredicateSLSA02 = "https://slsa.dev/provenance/v0.2"
)

// PredicateType returns the predicate type a format produces.
func (f Format) PredicateType() string {
	if f == SLSA02 {
		return PredicateSLSA02
	}
	return PredicateSLSA1
}

// ParseFormat accepts "slsa/v1.0", "v1", "1.0" and Chains' name
// "slsa/v2alpha4" for SLSA1, and "slsa/v0.2", "v0.2", "0.2" and Chains'
// "slsa/v1" for SLSA02.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "slsa/v1.0", "v1", "v1.0", "1.0", "1", "slsa/v2alpha4", "":
		return SLSA1, nil
	case "slsa/v0.2", "v0.2", "0.2", "slsa/v1":
		return SLSA02, nil
	}
	return "", fmt.Errorf("unknown provenance format %q (want slsa/v1.0 or slsa/v0.2)", s)
}

// Option configures the formatter as Chains' configmap would.
type Option func(*config.Config)

// WithBuilderID sets builder.id. The default is Chains' default,
// https://tekton.dev/chains/v2.
func WithBuilderID(id string) Option { return func(c *config.Config) { c.Builder.ID = id } }

// WithBuildType sets builddefinition.buildtype (SLSA v1.0 only). The default
// is Chains' default, https://tekton.dev/chains/v2/slsa.
func WithBuildType(t string) Option {
	return func(c *config.Config) { c.BuildDefinition.BuildType = t }
}

func chainsConfig(opts []Option) config.Config {
	c := config.Config{}
	c.Builder.ID = "https://tekton.dev/chains/v2"
	c.BuildDefinition.BuildType = "https://tekton.dev/chains/v2/slsa"
	for _, o := range opts {
		o(&c)
	}
	return c
}

func payloader(f Format, cfg config.Config) (formats.Payloader, error) {
	switch f {
	case SLSA1, "":
		return v2alpha4.NewFormatter(cfg)
	case SLSA02:
		return slsav1.NewFormatter(cfg)
	}
	return nil, fmt.Errorf("unknown provenance format %q", f)
}

// TaskRun returns the in-toto statement (JSON) with SLSA provenance for a
// finished TaskRun.
func TaskRun(ctx context.Context, tr *pipelinev1.TaskRun, f Format, opts ...Option) ([]byte, error) {
	if err := checkFinished(tr.Name, tr.Status.CompletionTime == nil); err != nil {
		return nil, err
	}
	return generate(ctx, objects.NewTaskRunObjectV1(tr), f, opts)
}

// PipelineRun returns the in-toto statement (JSON) with SLSA provenance for
// a finished PipelineRun. taskRuns are its child TaskRuns (labelled
// tekton.dev/pipelineTask, as the Tekton controller labels them); Chains
// reads them for the build steps and, with deep inspection, the subjects.
func PipelineRun(ctx context.Context, pr *pipelinev1.PipelineRun, taskRuns []*pipelinev1.TaskRun, f Format, opts ...Option) ([]byte, error) {
	if err := checkFinished(pr.Name, pr.Status.CompletionTime == nil); err != nil {
		return nil, err
	}
	pro := objects.NewPipelineRunObjectV1(pr)
	for _, tr := range taskRuns {
		pro.AppendTaskRun(tr)
	}
	return generate(ctx, pro, f, opts)
}

func checkFinished(name string, notDone bool) error {
	if notDone {
		return fmt.Errorf("%s has no status.completionTime: provenance describes a finished run", name)
	}
	return nil
}

func generate(ctx context.Context, obj objects.TektonObject, f Format, opts []Option) ([]byte, error) {
	p, err := payloader(f, chainsConfig(opts))
	if err != nil {
		return nil, err
	}
	// Chains logs through knative's context logger and falls back to a
	// production logger on stderr; a library stays silent.
	ctx = logging.WithLogger(ctx, zap.NewNop().Sugar())
	payload, err := p.CreatePayload(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("chains %s formatter: %w", f, err)
	}
	// Chains' signing.go serializes the payload like this.
	switch st := payload.(type) {
	case *intoto.Statement:
		return protojson.Marshal(st)
	case intoto.Statement:
		return protojson.Marshal(&st)
	default:
		return json.Marshal(payload)
	}
}

// Run is a TaskRun or a PipelineRun read from a file (see runfile).
type Run = runfile.Run

// Parse reads a Tekton v1 TaskRun or PipelineRun from YAML or JSON.
func Parse(b []byte) (*Run, error) { return runfile.Parse(b) }

// ParseFile reads a TaskRun or PipelineRun file; errors name the file.
func ParseFile(path string) (*Run, error) { return runfile.ParseFile(path) }

// Predicate extracts the predicate of a statement made here, for the
// attest step, which wraps predicates in its own statement.
func Predicate(statement []byte) (json.RawMessage, error) {
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(statement, &st); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(st.Predicate)) == 0 {
		return nil, errors.New("statement has no predicate")
	}
	return st.Predicate, nil
}

// Subject is one subject of a provenance statement.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ByProduct is one SLSA v1.0 byproduct (a result that is not a subject).
type ByProduct struct {
	Name      string          `json:"name"`
	MediaType string          `json:"mediaType"`
	Content   json.RawMessage `json:"content"`
}

// Summary is what a statement says it produced: its subjects and, for
// SLSA v1.0, its byproducts.
type Summary struct {
	PredicateType string
	Subjects      []Subject
	ByProducts    []ByProduct
}

// Summarize reads subjects and byproducts back from a statement made by
// TaskRun or PipelineRun. Byproduct content (base64 in protojson) is
// decoded back to the result's JSON value.
func Summarize(statement []byte) (*Summary, error) {
	var st struct {
		PredicateType string    `json:"predicateType"`
		Subject       []Subject `json:"subject"`
		Predicate     struct {
			RunDetails struct {
				ByProducts []struct {
					Name      string `json:"name"`
					MediaType string `json:"mediaType"`
					Content   []byte `json:"content"`
				} `json:"byproducts"`
			} `json:"runDetails"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(statement, &st); err != nil {
		return nil, fmt.Errorf("provenance statement: %w", err)
	}
	s := &Summary{PredicateType: st.PredicateType, Subjects: st.Subject}
	for _, b := range st.Predicate.RunDetails.ByProducts {
		s.ByProducts = append(s.ByProducts, ByProduct{Name: b.Name, MediaType: b.MediaType, Content: b.Content})
	}
	sort.Slice(s.Subjects, func(i, j int) bool { return s.Subjects[i].Name < s.Subjects[j].Name })
	return s, nil
}
