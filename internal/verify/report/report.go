// Package report holds the outcome of a verify-policy run and writes it in
// each output format: text for people, JSON in Conforma's shape, JUnit
// XML, a Markdown summary and Konflux's TEST_OUTPUT ("appstudio").
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of one run, in the shape of Conforma's JSON
// output.
type Report struct {
	Success       bool        `json:"success"`
	EffectiveTime string      `json:"effective-time"`
	Key           string      `json:"key,omitempty"`
	Policy        Policy      `json:"policy"`
	Components    []Component `json:"components"`
	// ECVersion is the version of the verifier, in Conforma's field.
	ECVersion string `json:"ec-version,omitempty"`
	// Errors counts components for which an error prevented a verdict.
	Errors int `json:"errors,omitempty"`
}

// Policy names the policy that was applied.
type Policy struct {
	Name    string   `json:"name,omitempty"`
	URI     string   `json:"uri,omitempty"`
	Digest  string   `json:"digest"`
	Sources []Source `json:"sources,omitempty"`
}

// Source is one evaluated policy source.
type Source struct {
	Name     string   `json:"name,omitempty"`
	Policy   []string `json:"policy"`
	Data     []string `json:"data,omitempty"`
	Digests  []string `json:"digests,omitempty"`
	Include  []string `json:"include,omitempty"`
	Exclude  []string `json:"exclude,omitempty"`
	RuleData bool     `json:"ruleData,omitempty"`
}

// Component is the verdict on one image.
type Component struct {
	Name           string        `json:"name"`
	ContainerImage string        `json:"containerImage"`
	Ref            string        `json:"ref,omitempty"`
	Source         any           `json:"source,omitempty"`
	Success        bool          `json:"success"`
	Violations     []Result      `json:"violations,omitempty"`
	Warnings       []Result      `json:"warnings,omitempty"`
	Successes      []Result      `json:"successes,omitempty"`
	SuccessCount   int           `json:"successCount"`
	Signatures     []Signature   `json:"signatures,omitempty"`
	Attestations   []Attestation `json:"attestations,omitempty"`
	VSA            string        `json:"vsa,omitempty"`
	Error          string        `json:"error,omitempty"`
}

// Result is a violation, warning or success: a message and its rule's
// metadata, as Conforma reports it.
type Result struct {
	Msg      string   `json:"msg"`
	Metadata Metadata `json:"metadata"`
}

// Metadata describes the rule behind a result.
type Metadata struct {
	Code        string         `json:"code"`
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	Solution    string         `json:"solution,omitempty"`
	Collections []string       `json:"collections,omitempty"`
	EffectiveOn string         `json:"effective_on,omitempty"`
	Term        any            `json:"term,omitempty"`
	DependsOn   []string       `json:"depends_on,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// Signature is a verified signature, as in Conforma's output.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Attestation summarises a verified attestation.
type Attestation struct {
	Type          string      `json:"type"`
	PredicateType string      `json:"predicateType"`
	Digest        string      `json:"digest,omitempty"`
	Signatures    []Signature `json:"signatures,omitempty"`
}

// Counts returns totals over all components.
func (r *Report) Counts() (successes, failures, warnings int) {
	for _, c := range r.Components {
		successes += c.SuccessCount
		failures += len(c.Violations)
		warnings += len(c.Warnings)
	}
	return
}

// Outcome is one of "pass", "fail" or "error" for the whole run.
func (r *Report) Outcome() string {
	switch {
	case r.Errors > 0:
		return "error"
	case !r.Success:
		return "fail"
	}
	return "pass"
}

// Format names an output format.
type Format string

// Output formats.
const (
	Text      Format = "text"
	JSON      Format = "json"
	JUnit     Format = "junit"
	Markdown  Format = "markdown"
	AppStudio Format = "appstudio"
)

// Formats lists every format.
var Formats = []Format{Text, JSON, JUnit, Markdown, AppStudio}

// Output is one --output entry: a format and the file it goes to (empty
// for the default stream).
type Output struct {
	Format Format
	File   string
}

// ParseOutput reads "FORMAT" or "FORMAT=FILE".
func ParseOutput(s string) (Output, error) {
	f, file, _ := strings.Cut(s, "=")
	f = strings.ToLower(strings.TrimSpace(f))
	if f == "yaml" || f == "test-output" || f == "summary" {
		f = map[string]string{"yaml": "json", "test-output": "appstudio", "summary": "markdown"}[f]
	}
	for _, k := range Formats {
		if Format(f) == k {
			if strings.Contains(s, "=") && file == "" {
				return Output{}, fmt.Errorf("--output %q: empty file name after =", s)
			}
			return Output{Format: k, File: file}, nil
		}
	}
	var names []string
	for _, k := range Formats {
		names = append(names, string(k))
	}
	return Output{}, fmt.Errorf("--output %q: unknown format %q (want one of %s, optionally =FILE)", s, f, strings.Join(names, ", "))
}

// Write renders r in format f.
func (r *Report) Write(w io.Writer, f Format, now time.Time) error {
	switch f {
	case Text:
		return r.writeText(w)
	case JSON:
		return r.writeJSON(w)
	case JUnit:
		return r.writeJUnit(w)
	case Markdown:
		return r.writeMarkdown(w)
	case AppStudio:
		return r.writeAppStudio(w, now)
	}
	return fmt.Errorf("unknown output format %q", f)
}

// Sort orders results within each component by code, then message, so
// output is stable across runs.
func (r *Report) Sort() {
	for i := range r.Components {
		c := &r.Components[i]
		for _, l := range [][]Result{c.Violations, c.Warnings, c.Successes} {
			sort.SliceStable(l, func(a, b int) bool {
				if l[a].Metadata.Code != l[b].Metadata.Code {
					return l[a].Metadata.Code < l[b].Metadata.Code
				}
				return l[a].Msg < l[b].Msg
			})
		}
	}
}
