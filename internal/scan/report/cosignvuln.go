package report

import (
	"bytes"
	"encoding/json"
	"io"
	"time"

	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// CosignVulnPredicateType is the predicate type of CosignVuln's output,
// the one `cosign attest --type vuln` and policy engines look for.
const CosignVulnPredicateType = "https://cosign.sigstore.dev/attestation/vuln/v1"

// cosignVuln has the shape of cosign's CosignVulnPredicate
// (pkg/cosign/attestation), which `cosign attest --type vuln` reads as
// is, as Trivy's cosign-vuln format writes it.
type cosignVuln struct {
	Invocation struct {
		Parameters any    `json:"parameters"`
		URI        string `json:"uri"`
		EventID    string `json:"event_id"`
		BuilderID  string `json:"builder.id"`
	} `json:"invocation"`
	Scanner struct {
		URI     string `json:"uri"`
		Version string `json:"version"`
		DB      struct {
			URI     string `json:"uri"`
			Version string `json:"version"`
		} `json:"db"`
		Result json.RawMessage `json:"result"`
	} `json:"scanner"`
	Metadata struct {
		ScanStartedOn  time.Time `json:"scanStartedOn"`
		ScanFinishedOn time.Time `json:"scanFinishedOn"`
	} `json:"metadata"`
}

// CosignVuln writes the report as a cosign vulnerability predicate: the
// CycloneDX 1.6 report (with its VEX analyses) as scanner.result, so the
// attest step can attach it as https://cosign.sigstore.dev/attestation/vuln/v1
// and a policy reads the findings from the attestation.
func CosignVuln(w io.Writer, r *finding.Report) error {
	var doc bytes.Buffer
	if err := CycloneDX(&doc, r); err != nil {
		return err
	}
	var p cosignVuln
	p.Invocation.URI = r.Subject
	p.Scanner.URI = "https://github.com/trustline-dev/trustline/tree/main/steps/scan"
	p.Scanner.Version = r.Version
	p.Scanner.DB.URI = r.Database
	p.Scanner.Result = json.RawMessage(bytes.TrimSpace(doc.Bytes()))
	// The scan records one time, when it ran; cosign needs both.
	if t, err := time.Parse(time.RFC3339, r.Timestamp); err == nil {
		p.Metadata.ScanStartedOn, p.Metadata.ScanFinishedOn = t, t
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}
