// Package ecp reads a policy configuration in the shape of Conforma's
// EnterpriseContractPolicy: either the whole custom resource
// (apiVersion/kind/spec) or only its spec, as YAML or JSON. A policy lists
// sources; each source names Rego policy locations, data locations, rule
// data injected as Conforma does, and include/exclude filters.
//
// Parsing is strict: an unknown field is an error naming it, so a typo such
// as "exlude" cannot silently turn a filter off.
package ecp

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/trustline-dev/trustline/internal/jsondoc"
)

// Policy is the spec of an EnterpriseContractPolicy.
type Policy struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// PublicKey is a PEM public key, a path to one, or "k8s://" reference
	// (which trustline does not read: pass --public-key instead).
	PublicKey string   `json:"publicKey,omitempty"`
	RekorURL  string   `json:"rekorUrl,omitempty"`
	Sources   []Source `json:"sources"`
	// Configuration is the deprecated policy-wide filter; it applies to
	// sources that have no config of their own, as in Conforma.
	Configuration *Config `json:"configuration,omitempty"`
	Identity      *struct {
		Subject       string `json:"subject,omitempty"`
		SubjectRegExp string `json:"subjectRegExp,omitempty"`
		Issuer        string `json:"issuer,omitempty"`
		IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	} `json:"identity,omitempty"`
}

// Source is one group of policies evaluated together.
type Source struct {
	Name           string          `json:"name,omitempty"`
	Policy         []string        `json:"policy"`
	Data           []string        `json:"data,omitempty"`
	RuleData       map[string]any  `json:"ruleData,omitempty"`
	Config         *Config         `json:"config,omitempty"`
	VolatileConfig *VolatileConfig `json:"volatileConfig,omitempty"`
}

// Config filters the rules of a source.
type Config struct {
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Collections is the deprecated way to include collections; each name
	// is treated as "@name" in Include.
	Collections []string `json:"collections,omitempty"`
}

// VolatileConfig holds filters that apply only within a time window and,
// optionally, only to one image.
type VolatileConfig struct {
	Include []VolatileCriterion `json:"include,omitempty"`
	Exclude []VolatileCriterion `json:"exclude,omitempty"`
}

// VolatileCriterion is one time-bounded filter entry.
type VolatileCriterion struct {
	Value          string `json:"value"`
	EffectiveOn    string `json:"effectiveOn,omitempty"`
	EffectiveUntil string `json:"effectiveUntil,omitempty"`
	ImageRef       string `json:"imageRef,omitempty"`
	ImageURL       string `json:"imageUrl,omitempty"`
	ImageDigest    string `json:"imageDigest,omitempty"`
	Reference      string `json:"reference,omitempty"`
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid policy configuration")

type wrapper struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Spec       json.RawMessage `json:"spec"`
}

// Load reads and parses the policy file at path.
func Load(path string) (*Policy, error) {
	return jsondoc.Load(path, "policy", Parse)
}

// Parse parses a policy document (YAML or JSON, resource or bare spec).
func Parse(b []byte) (*Policy, error) {
	js, probe, err := jsondoc.Object(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, ok := probe["spec"]; ok {
		var w wrapper
		if err := strictDecode(js, &w); err != nil {
			return nil, err
		}
		if w.Kind != "" && w.Kind != "EnterpriseContractPolicy" {
			return nil, fmt.Errorf("%w: kind %q, want EnterpriseContractPolicy", ErrInvalid, w.Kind)
		}
		js = w.Spec
	}
	var p Policy
	if err := strictDecode(js, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func strictDecode(b []byte, v any) error {
	if err := jsondoc.Strict(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// A filter entry: "*", "@collection", "pkg", "pkg.rule", optionally ":term".
var filterRE = regexp.MustCompile(`^(\*|@[A-Za-z0-9_.-]+|[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\*))?)(:.+)?$`)

// Validate checks what the JSON shape cannot.
func (p *Policy) Validate() error {
	if len(p.Sources) == 0 {
		return fmt.Errorf("%w: sources: at least one source is required", ErrInvalid)
	}
	if err := p.Configuration.validate("configuration"); err != nil {
		return err
	}
	for i, s := range p.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		if s.Name != "" {
			field = fmt.Sprintf("sources[%d] (%s)", i, s.Name)
		}
		if len(s.Policy) == 0 {
			return fmt.Errorf("%w: %s.policy: at least one policy location is required", ErrInvalid, field)
		}
		for j, l := range s.Policy {
			if err := validLocation(l); err != nil {
				return fmt.Errorf("%w: %s.policy[%d]: %v", ErrInvalid, field, j, err)
			}
		}
		for j, l := range s.Data {
			if err := validLocation(l); err != nil {
				return fmt.Errorf("%w: %s.data[%d]: %v", ErrInvalid, field, j, err)
			}
		}
		if err := s.Config.validate(field + ".config"); err != nil {
			return err
		}
		if v := s.VolatileConfig; v != nil {
			for name, list := range map[string][]VolatileCriterion{"include": v.Include, "exclude": v.Exclude} {
				for j, c := range list {
					f := fmt.Sprintf("%s.volatileConfig.%s[%d]", field, name, j)
					if !filterRE.MatchString(c.Value) {
						return fmt.Errorf("%w: %s.value %q is not *, @collection, package or package.rule", ErrInvalid, f, c.Value)
					}
					for k, d := range map[string]string{"effectiveOn": c.EffectiveOn, "effectiveUntil": c.EffectiveUntil} {
						if _, err := ParseTime(d); d != "" && err != nil {
							return fmt.Errorf("%w: %s.%s: %v", ErrInvalid, f, k, err)
						}
					}
				}
			}
		}
	}
	return nil
}

func (c *Config) validate(field string) error {
	if c == nil {
		return nil
	}
	for name, list := range map[string][]string{"include": c.Include, "exclude": c.Exclude} {
		for j, v := range list {
			if !filterRE.MatchString(v) {
				return fmt.Errorf("%w: %s.%s[%d] %q is not *, @collection, package or package.rule", ErrInvalid, field, name, j, v)
			}
		}
	}
	for j, v := range c.Collections {
		if !regexp.MustCompile(`^[A-Za-z0-9_.-]+$`).MatchString(v) {
			return fmt.Errorf("%w: %s.collections[%d] %q is not a collection name", ErrInvalid, field, j, v)
		}
	}
	return nil
}

func validLocation(l string) error {
	_, err := ParseLocation(l)
	return err
}

// ParseTime reads the dates Conforma accepts in policy configuration and
// rule metadata: RFC 3339, or a bare date (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q is neither RFC 3339 nor YYYY-MM-DD", s)
}

// EffectiveConfig returns the include/exclude lists that apply to source i
// for the image with the given reference and digest at time now: the
// source's config (or the policy-wide configuration), with collections
// folded into include and volatile entries that are in effect added.
func (p *Policy) EffectiveConfig(i int, imageRef, imageDigest string, now time.Time) (include, exclude []string) {
	s := p.Sources[i]
	c := s.Config
	if c == nil {
		c = p.Configuration
	}
	if c != nil {
		include = append(include, c.Include...)
		exclude = append(exclude, c.Exclude...)
		for _, col := range c.Collections {
			include = append(include, "@"+col)
		}
	}
	if v := s.VolatileConfig; v != nil {
		for _, e := range v.Include {
			if e.applies(imageRef, imageDigest, now) {
				include = append(include, e.Value)
			}
		}
		for _, e := range v.Exclude {
			if e.applies(imageRef, imageDigest, now) {
				exclude = append(exclude, e.Value)
			}
		}
	}
	return include, exclude
}

func (c VolatileCriterion) applies(ref, digest string, now time.Time) bool {
	if c.EffectiveOn != "" {
		if t, err := ParseTime(c.EffectiveOn); err == nil && now.Before(t) {
			return false
		}
	}
	if c.EffectiveUntil != "" {
		if t, err := ParseTime(c.EffectiveUntil); err == nil && !now.Before(t) {
			return false
		}
	}
	if c.ImageDigest != "" && c.ImageDigest != digest {
		return false
	}
	if r := c.ImageRef + c.Reference; r != "" && r != ref && !strings.HasSuffix(r, "@"+digest) {
		return false
	}
	if c.ImageURL != "" && !strings.HasPrefix(ref, c.ImageURL) {
		return false
	}
	return true
}
