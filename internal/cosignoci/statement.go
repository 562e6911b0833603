package cosignoci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/trustline-dev/trustline/internal/jsondoc"
)

// in-toto statement types. We write v1; readers accept v0.1 too, which is
// what cosign attest writes.
const (
	StatementTypeV1  = "https://in-toto.io/Statement/v1"
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"
)

// Statement is an in-toto attestation statement.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is one artifact a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// NewStatement returns an in-toto v1 statement about the image d: one
// subject named by the repository (as cosign names it) with d's digest.
func NewStatement(d name.Digest, predicateType string, predicate json.RawMessage) Statement {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	return Statement{
		Type:          StatementTypeV1,
		Subject:       []Subject{{Name: d.Repository.Name(), Digest: map[string]string{alg: hex}}},
		PredicateType: predicateType,
		Predicate:     predicate,
	}
}

// ParseStatement reads an in-toto statement and checks its shape: a known
// _type, a predicateType, at least one subject with a digest, and a
// predicate that is a JSON object.
func ParseStatement(b []byte) (*Statement, error) {
	var st Statement
	if err := jsondoc.Decode(b, &st); err != nil {
		return nil, fmt.Errorf("in-toto statement is not JSON: %w", err)
	}
	switch st.Type {
	case StatementTypeV1, StatementTypeV01:
	default:
		return nil, fmt.Errorf("in-toto statement: _type %q is not %s", st.Type, StatementTypeV1)
	}
	if st.PredicateType == "" {
		return nil, errors.New("in-toto statement: predicateType is empty")
	}
	if len(st.Subject) == 0 {
		return nil, errors.New("in-toto statement: no subject")
	}
	for i, s := range st.Subject {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("in-toto statement: subject[%d] has no digest", i)
		}
	}
	if p := bytes.TrimSpace(st.Predicate); len(p) == 0 || p[0] != '{' {
		return nil, errors.New("in-toto statement: predicate is not a JSON object")
	}
	return &st, nil
}

// HasSubject reports whether the statement names the image d's digest.
func (st *Statement) HasSubject(d name.Digest) bool {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	for _, s := range st.Subject {
		if strings.EqualFold(s.Digest[alg], hex) {
			return true
		}
	}
	return false
}

// SimpleSigningPayload is the payload cosign signs for the image d: the
// "cosign container image signature" simple-signing JSON whose identity is
// d's repository and whose digest is d's.
func SimpleSigningPayload(d name.Digest) ([]byte, error) {
	return payload.Cosign{Image: d}.MarshalJSON()
}

// ParseSimpleSigning reads a simple-signing payload and checks its type.
func ParseSimpleSigning(b []byte) (*payload.SimpleContainerImage, error) {
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("simple-signing payload is not JSON: %w", err)
	}
	if p.Critical.Type != payload.CosignSignatureType {
		return nil, fmt.Errorf("simple-signing payload: critical.type %q is not %q", p.Critical.Type, payload.CosignSignatureType)
	}
	if p.Critical.Image.DockerManifestDigest == "" {
		return nil, errors.New("simple-signing payload: critical.image.docker-manifest-digest is empty")
	}
	return &p, nil
}
