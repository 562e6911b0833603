package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/trustline-dev/trustline/internal/cosignoci"
	"github.com/trustline-dev/trustline/internal/remoteopt"
	"github.com/trustline-dev/trustline/internal/signing"
	"github.com/trustline-dev/trustline/internal/verify/ecbuiltins"
	"github.com/trustline-dev/trustline/internal/verify/evaluator"
	"github.com/trustline-dev/trustline/internal/verify/report"
)

// Annotations naming an image's base image (OCI image spec).
const (
	baseNameAnnotation   = "org.opencontainers.image.base.name"
	baseDigestAnnotation = "org.opencontainers.image.base.digest"
)

// verified is what check learns about an image before Rego runs.
type verified struct {
	digest       name.Digest
	input        map[string]any
	builtins     []report.Result
	sigs         []report.Signature
	atts         []report.Attestation
	finishedOn   time.Time
	provenanceOK bool
	passed       map[string]bool
	missing      bool // the image is not in the registry
}

// ErrInputTooLarge is wrapped by the error of an image whose verified
// statements exceed WithMaxInput.
var ErrInputTooLarge = errors.New("policy input too large")

// ErrTimeout is the cause of an image check that ran past WithTimeout.
var ErrTimeout = errors.New("timed out")

func (v *Verifier) check(ctx context.Context, img Image) report.Component {
	if v.o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, v.o.timeout,
			fmt.Errorf("%w: checking the image took longer than the %s timeout (--timeout); a policy rule may loop or the registry may be too slow", ErrTimeout, v.o.timeout))
		defer cancel()
	}
	c := v.checkImage(ctx, img)
	if errors.Is(context.Cause(ctx), ErrTimeout) {
		// Whatever failed after the deadline (a fetch, the evaluation),
		// the answer is an error, never a verdict.
		c.Error, c.Success = context.Cause(ctx).Error(), false
	}
	return c
}

func (v *Verifier) checkImage(ctx context.Context, img Image) report.Component {
	// One cache of the ec.* built-ins' registry answers for every policy
	// source evaluated on this image.
	ctx = ecbuiltins.WithCache(ctx)
	c := report.Component{Name: img.Name, ContainerImage: img.Ref}
	if c.Name == "" {
		c.Name = img.Ref
	}
	if img.Source != nil && img.Source.Git != nil {
		c.Source = img.Source
	}
	vr, err := v.collect(ctx, img)
	if err != nil {
		c.Error = shortErr(err)
		return c
	}
	if !vr.missing {
		c.Ref = vr.digest.String()
	}
	c.Signatures = vr.sigs
	c.Attestations = vr.atts
	c.Violations = append(c.Violations, vr.builtins...)
	if vr.input != nil {
		when := v.o.now()
		switch {
		case v.fixed != nil:
			when = *v.fixed
		case v.o.effective == EffectiveAttestation && !vr.finishedOn.IsZero():
			when = vr.finishedOn
		}
		in, err := ast.InterfaceToValue(vr.input)
		if err != nil {
			c.Error = fmt.Sprintf("building policy input: %v", err)
			return c
		}
		vr.input = nil // the statements are no longer needed
		for i, e := range v.engines {
			inc, exc := v.pol.EffectiveConfig(i, img.Ref, vr.digest.DigestStr(), when)
			out, err := e.Evaluate(ctx, in, when, evaluator.Filter{Include: inc, Exclude: exc})
			if err != nil {
				c.Error = shortErr(err)
				return c
			}
			for _, msg := range out.Errors {
				fmt.Fprintf(v.o.progress, "%s: %s (the rule's expression was undefined)\n", img.Ref, msg)
			}
			c.Violations = append(c.Violations, convert(out.Violations)...)
			c.Warnings = append(c.Warnings, convert(out.Warnings)...)
			c.SuccessCount += len(out.Successes)
			for _, r := range out.Successes {
				vr.passed[r.Code] = true
			}
			if v.o.showSuccesses {
				c.Successes = append(c.Successes, convert(out.Successes)...)
			}
		}
	}
	if !vr.missing {
		passed := builtinSuccesses(vr.builtins)
		c.SuccessCount += len(passed)
		if v.o.showSuccesses {
			c.Successes = append(c.Successes, passed...)
		}
	}
	c.Success = len(c.Violations) == 0
	if c.Success && v.o.vsaSigner != nil {
		where, err := v.writeVSA(ctx, vr)
		if err != nil {
			c.Error = fmt.Sprintf("verification summary: %v", err)
			c.Success = false
			return c
		}
		c.VSA = where
	}
	return c
}

// collect resolves the image, verifies its signatures and attestations,
// and builds the policy input. A missing image or failed verification is
// a builtin violation; an error is returned only when the registry could
// not answer.
func (v *Verifier) collect(ctx context.Context, img Image) (*verified, error) {
	ref, desc, err := v.fetch(ctx, img)
	if err != nil {
		return nil, err
	}
	if desc == nil {
		vr := &verified{passed: map[string]bool{}, missing: true}
		vr.builtins = append(vr.builtins, builtin("builtin.image.accessible", "Image is accessible",
			fmt.Sprintf("Image %s was not found in the registry", img.Ref),
			"Check the image reference (repository, tag, digest) and that it was pushed."))
		return vr, nil
	}
	vr := &verified{digest: ref.Context().Digest(desc.Digest.String()), passed: map[string]bool{}}
	image, platformDigests, err := v.describe(ctx, img, desc, vr.digest)
	if err != nil {
		return nil, err
	}
	if err := v.checkSignatures(ctx, vr, platformDigests); err != nil {
		return nil, err
	}
	sigList := make([]any, 0, len(vr.sigs))
	for _, s := range vr.sigs {
		sigList = append(sigList, map[string]any{"keyid": s.KeyID, "sig": s.Sig})
	}
	image["signatures"] = sigList
	attList, err := v.checkAttestations(ctx, vr)
	if err != nil {
		return nil, err
	}
	vr.input = map[string]any{"image": image, "attestations": attList, "snapshot": v.snapshot,
		"component_name": componentName(img), "policy_spec": v.policySpec}
	return vr, nil
}

// fetch gets the image's descriptor from the registry; an image the
// registry does not have has none (nil, and no error).
func (v *Verifier) fetch(ctx context.Context, img Image) (name.Reference, *remote.Descriptor, error) {
	ref, err := remoteopt.ParseReference(img.Ref, remoteopt.Insecure(v.o.insecure))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	desc, err := remote.Get(ref, append(v.ropts, remote.WithContext(ctx))...)
	if err != nil {
		if isNotFound(err) {
			return ref, nil, nil
		}
		return nil, nil, fmt.Errorf("resolving %s: %w", img.Ref, err)
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return nil, nil, fmt.Errorf("registry returned %s for %s", desc.Digest, img.Ref)
	}
	return ref, desc, nil
}

// describe builds input.image (all of it but the signatures) and lists
// the platform images of an index, whose signatures are checked too.
func (v *Verifier) describe(ctx context.Context, img Image, desc *remote.Descriptor, d name.Digest) (map[string]any, []name.Digest, error) {
	image := map[string]any{"ref": d.String()}
	if img.Source != nil && img.Source.Git != nil {
		b, _ := json.Marshal(img.Source)
		var src any
		json.Unmarshal(b, &src)
		image["source"] = src
	}
	var platformDigests []name.Digest
	var annotations map[string]string
	var err error
	if desc.MediaType.IsIndex() {
		annotations, platformDigests, err = describeIndex(image, desc, d)
	} else {
		annotations, err = v.describeImage(ctx, image, desc, d)
	}
	if err != nil {
		return nil, nil, err
	}
	if base := annotations[baseNameAnnotation]; base != "" {
		p := map[string]any{"ref": base}
		if bd := annotations[baseDigestAnnotation]; bd != "" {
			p["digest"] = bd
		}
		image["parent"] = p
	}
	return image, platformDigests, nil
}

// describeIndex puts an index's platform images in image and returns the
// index's annotations and those images by digest.
func describeIndex(image map[string]any, desc *remote.Descriptor, d name.Digest) (map[string]string, []name.Digest, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, nil, fmt.Errorf("reading index %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading index %s: %w", d, err)
	}
	var platformDigests []name.Digest
	var plats []any
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS == "unknown" {
			continue // attestation manifests of buildkit
		}
		pd := d.Context().Digest(m.Digest.String())
		platformDigests = append(platformDigests, pd)
		p := map[string]any{"ref": pd.String()}
		if m.Platform != nil {
			p["platform"] = m.Platform.String()
		}
		plats = append(plats, p)
	}
	image["platforms"] = plats
	return im.Annotations, platformDigests, nil
}

// describeImage puts an image's files and config in image and returns
// its annotations.
func (v *Verifier) describeImage(ctx context.Context, image map[string]any, desc *remote.Descriptor, d name.Digest) (map[string]string, error) {
	im, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", d, err)
	}
	m, err := im.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", d, err)
	}
	// input.image.files: an operator bundle's manifests, as Conforma
	// reads them (nothing for other images).
	files, err := v.builtins.BundleFiles(ctx, im)
	if err != nil {
		return nil, fmt.Errorf("reading the files of %s: %w", d, err)
	}
	if len(files) > 0 {
		image["files"] = files
	}
	raw, err := remoteopt.RawConfigFile(im)
	if err != nil {
		return nil, fmt.Errorf("reading config of %s: %w", d, err)
	}
	var cfg struct {
		Config any `json:"config"`
	}
	if err := json.Unmarshal(raw, &cfg); err == nil && cfg.Config != nil {
		image["config"] = cfg.Config
	}
	return m.Annotations, nil
}

// checkSignatures verifies the signatures of the image and of each
// platform image of an index, which must be signed too.
func (v *Verifier) checkSignatures(ctx context.Context, vr *verified, platformDigests []name.Digest) error {
	sigs, problem, err := v.signatures(ctx, vr.digest)
	if err != nil {
		return err
	}
	vr.sigs = sigs
	if len(sigs) == 0 {
		vr.builtins = append(vr.builtins, builtin("builtin.image.signature_check", "Image signature check passed",
			fmt.Sprintf("No image signature of %s verifies with the public key: %s", vr.digest, problem),
			"Sign the image (Tekton Chains does) with the private key matching the policy's public key."))
	}
	for _, pd := range platformDigests {
		ps, problem, err := v.signatures(ctx, pd)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			vr.builtins = append(vr.builtins, builtin("builtin.image.signature_check", "Image signature check passed",
				fmt.Sprintf("No signature of platform image %s verifies with the public key: %s", pd, problem),
				"Sign every image of the index, not only the index."))
		}
	}
	return nil
}

// checkAttestations verifies the attestations beside the image and
// returns input.attestations: the statements that verify and follow
// their schema. The others are builtin violations.
func (v *Verifier) checkAttestations(ctx context.Context, vr *verified) ([]any, error) {
	atts, err := v.client.Attestations(ctx, vr.digest, cosignoci.WithReferrers())
	if err != nil {
		return nil, err
	}
	attList := []any{}
	var inputSize int64
	for _, a := range atts {
		st, err := a.Verify(ctx, v.key, vr.digest)
		if err != nil {
			vr.builtins = append(vr.builtins, rejected(a, st, vr.digest, err))
			continue
		}
		stJSON, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		if err := v.schemas.Validate(st.PredicateType, stJSON); err != nil {
			vr.builtins = append(vr.builtins, builtin("builtin.attestation.syntax_check", "Attestation is well formed",
				fmt.Sprintf("Attestation %s of %s: %s", a.Digest, vr.digest, shortErr(err)),
				"Produce provenance with Tekton Chains (slsa/v2alpha4) or a builder that follows the SLSA schema."))
			continue
		}
		// The policy input grows with every statement; bound it before
		// the evaluation has to hold it.
		if inputSize += int64(len(stJSON)); v.o.maxInput > 0 && inputSize > v.o.maxInput {
			return nil, fmt.Errorf("%w: the attestations of %s add up to more than the %d-byte policy input limit (--max-input)", ErrInputTooLarge, vr.digest, v.o.maxInput)
		}
		var stAny map[string]any
		if err := json.Unmarshal(stJSON, &stAny); err != nil {
			return nil, err
		}
		envSigs, repSigs := envelopeSignatures(a.Envelope)
		attList = append(attList, map[string]any{"statement": stAny, "signatures": envSigs})
		vr.atts = append(vr.atts, report.Attestation{Type: "https://in-toto.io/Statement/v1", PredicateType: st.PredicateType, Digest: a.Digest.String(), Signatures: repSigs})
		if v.schemas.Has(st.PredicateType) {
			vr.provenanceOK = true
			if t := finishedOn(stAny); t.After(vr.finishedOn) {
				vr.finishedOn = t
			}
		}
	}
	if len(atts) == 0 {
		vr.builtins = append(vr.builtins, builtin("builtin.attestation.signature_check", "Attestation signature check passed",
			fmt.Sprintf("No attestations found beside %s", vr.digest),
			"Enable Tekton Chains (provenance) and attach the SBOM, scan and test attestations."))
	}
	return attList, nil
}

// rejected is the violation of an attestation that did not verify: which
// check failed depends on why.
func rejected(a cosignoci.Attestation, st *cosignoci.Statement, d name.Digest, err error) report.Result {
	code, title, fix := "builtin.attestation.signature_check", "Attestation signature check passed",
		"Attach attestations signed by the key the policy trusts."
	switch {
	case errors.Is(err, cosignoci.ErrWrongImage):
		code, title, fix = "builtin.attestation.subject_check", "Attestation subject matches the image",
			"Attach attestations whose subject is this image's digest; this one describes another image."
	case !errors.Is(err, signing.ErrBadSignature):
		code, title, fix = "builtin.attestation.syntax_check", "Attestation is well formed",
			"Attach a DSSE envelope holding an in-toto statement."
	}
	predicateType := a.PredicateType
	if st != nil { // signed, but about another image
		predicateType = st.PredicateType
	}
	return builtin(code, title, fmt.Sprintf("Attestation %s (%s) of %s rejected: %s", a.Digest, orUnknown(predicateType), d, shortErr(err)), fix)
}

// envelopeSignatures lists the signatures of a DSSE envelope for the
// policy input and for the report; an envelope that does not parse has
// none.
func envelopeSignatures(envelope []byte) ([]any, []report.Signature) {
	var envSigs []any
	var repSigs []report.Signature
	if env, _, err := signing.ParseEnvelope(envelope); err == nil {
		for _, s := range env.Signatures {
			envSigs = append(envSigs, map[string]any{"keyid": s.KeyID, "sig": s.Sig})
			repSigs = append(repSigs, report.Signature{KeyID: s.KeyID, Sig: s.Sig})
		}
	}
	return envSigs, repSigs
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown predicate type"
	}
	return s
}

// signatures returns the verified signatures of d and, when there are
// none, why.
func (v *Verifier) signatures(ctx context.Context, d name.Digest) ([]report.Signature, string, error) {
	sigs, err := v.client.Signatures(ctx, d)
	if err != nil {
		return nil, "", err
	}
	if len(sigs) == 0 {
		return nil, "no signatures found", nil
	}
	var out []report.Signature
	var last error
	for _, s := range sigs {
		if _, err := s.Verify(ctx, v.key, d); err != nil {
			last = err
			continue
		}
		out = append(out, report.Signature{KeyID: v.key.KeyID(), Sig: s.Base64Signature})
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("%d signature(s), none valid (%v)", len(sigs), last), nil
	}
	return out, "", nil
}

// finishedOn reads the build's end time from SLSA v1 or v0.2 provenance.
func finishedOn(st map[string]any) time.Time {
	pred, _ := st["predicate"].(map[string]any)
	var s string
	if rd, ok := pred["runDetails"].(map[string]any); ok {
		if md, ok := rd["metadata"].(map[string]any); ok {
			s, _ = md["finishedOn"].(string)
		}
	}
	if md, ok := pred["metadata"].(map[string]any); ok && s == "" {
		s, _ = md["buildFinishedOn"].(string)
	}
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// builtinChecks are the checks made in Go that Conforma reports as
// successes when they pass, with its titles and descriptions; a failed
// check is a violation with one of the codes (subject_check counts as
// the attestation signature check, as cosign's claim verification does).
var builtinChecks = []struct{ code, title, description string }{
	{"builtin.image.signature_check", "Image signature check passed", "The image signature matches available signing materials."},
	{"builtin.attestation.signature_check", "Attestation signature check passed", "The attestation signature matches available signing materials."},
	{"builtin.attestation.syntax_check", "Attestation syntax check passed", "The attestation has correct syntax."},
}

func builtinSuccesses(violations []report.Result) []report.Result {
	failed := map[string]bool{}
	for _, r := range violations {
		code := r.Metadata.Code
		if code == "builtin.attestation.subject_check" {
			code = "builtin.attestation.signature_check"
		}
		failed[code] = true
	}
	var out []report.Result
	for _, b := range builtinChecks {
		if !failed[b.code] {
			out = append(out, report.Result{Msg: "Pass", Metadata: report.Metadata{Code: b.code, Title: b.title, Description: b.description}})
		}
	}
	return out
}
