// Package osvdb reads an OSV database laid out as osv.dev publishes it
// (<dir>/<Ecosystem>/all.zip, or the same records unpacked as JSON files)
// and compiles it into an index keyed by ecosystem and package name. The
// compiled index is cached on disk and rebuilt only when the database
// changes, so a scan never re-parses thousands of JSON records.
package osvdb

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trustline-dev/trustline/internal/jsondoc"
)

// Record is one OSV advisory (https://ossf.github.io/osv-schema/), with the
// fields the scanner uses.
type Record struct {
	SchemaVersion    string          `json:"schema_version,omitempty"`
	ID               string          `json:"id"`
	Modified         string          `json:"modified,omitempty"`
	Published        string          `json:"published,omitempty"`
	Withdrawn        string          `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Related          []string        `json:"related,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []Severity      `json:"severity,omitempty"`
	Affected         []Affected      `json:"affected,omitempty"`
	References       []Reference     `json:"references,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Severity is a scored vector (CVSS_V3, CVSS_V4, ...).
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected names one package and the versions of it the advisory covers.
type Affected struct {
	Package           Package         `json:"package"`
	Severity          []Severity      `json:"severity,omitempty"`
	Ranges            []Range         `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// Package identifies a package within an ecosystem.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Range is a list of events in one version scheme.
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one introduced/fixed/last_affected/limit point; exactly one
// field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link about the advisory.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// ErrInvalidRecord is wrapped by every error Parse returns for a record
// that decodes as JSON but breaks the OSV schema.
var ErrInvalidRecord = errors.New("invalid OSV record")

// Parse decodes and checks one OSV record. Errors name the offending
// field.
func Parse(data []byte) (*Record, error) {
	var r Record
	switch err := jsondoc.Decode(data, &r); {
	case errors.Is(err, jsondoc.ErrTrailingData):
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	case err != nil:
		return nil, fmt.Errorf("decoding OSV record: %w", err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%w: field id is empty", ErrInvalidRecord)
	}
	for i, a := range r.Affected {
		if a.Package.Ecosystem == "" && a.Package.Name == "" && a.Package.PURL == "" {
			// The schema allows affected entries without a package (for
			// GIT ranges); they cannot match an SBOM package.
			continue
		}
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			return nil, fmt.Errorf("%w: %s: affected[%d].package needs ecosystem and name", ErrInvalidRecord, r.ID, i)
		}
		for j, rg := range a.Ranges {
			switch rg.Type {
			case "SEMVER", "ECOSYSTEM", "GIT":
			default:
				return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d].type %q is not SEMVER, ECOSYSTEM or GIT", ErrInvalidRecord, r.ID, i, j, rg.Type)
			}
			if len(rg.Events) == 0 {
				return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d].events is empty", ErrInvalidRecord, r.ID, i, j)
			}
			for k, e := range rg.Events {
				n := 0
				for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if s != "" {
						n++
					}
				}
				if n != 1 {
					return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d].events[%d] must set exactly one of introduced, fixed, last_affected, limit", ErrInvalidRecord, r.ID, i, j, k)
				}
			}
		}
	}
	return &r, nil
}
