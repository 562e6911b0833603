package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/trustline-dev/trustline/internal/results"
)

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) writeText(w io.Writer) error {
	s, f, wn := r.Counts()
	var b strings.Builder
	verdict := map[string]string{"pass": "PASSED", "fail": "FAILED", "error": "ERROR"}[r.Outcome()]
	fmt.Fprintf(&b, "Policy verification %s: %d image(s), %d violation(s), %d warning(s), %d success(es)\n",
		verdict, len(r.Components), f, wn, s)
	fmt.Fprintf(&b, "Policy: %s (%s), effective time %s\n", nonEmpty(r.Policy.Name, r.Policy.URI, "default pack"), r.Policy.Digest, r.EffectiveTime)
	for _, c := range r.Components {
		status := "PASS"
		switch {
		case c.Error != "":
			status = "ERROR"
		case !c.Success:
			status = "FAIL"
		}
		fmt.Fprintf(&b, "\n%s  %s", status, nonEmpty(c.Name, c.ContainerImage))
		if c.Ref != "" && c.Ref != c.Name {
			fmt.Fprintf(&b, "  %s", c.Ref)
		}
		b.WriteString("\n")
		if c.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", c.Error)
		}
		for _, v := range c.Violations {
			writeTextResult(&b, "✗ violation", v)
		}
		for _, v := range c.Warnings {
			writeTextResult(&b, "! warning", v)
		}
		if c.Error == "" {
			fmt.Fprintf(&b, "  ✓ %d check(s) passed", c.SuccessCount)
			if c.VSA != "" {
				fmt.Fprintf(&b, "; verification summary: %s", c.VSA)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTextResult(b *strings.Builder, kind string, v Result) {
	fmt.Fprintf(b, "  %s [%s] %s\n", kind, v.Metadata.Code, v.Msg)
	if v.Metadata.Title != "" {
		fmt.Fprintf(b, "      rule: %s\n", v.Metadata.Title)
	}
	if v.Metadata.Solution != "" {
		fmt.Fprintf(b, "      fix:  %s\n", oneLine(v.Metadata.Solution))
	}
	if v.Metadata.EffectiveOn != "" && kind == "! warning" {
		fmt.Fprintf(b, "      effective on: %s\n", v.Metadata.EffectiveOn)
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func nonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func (r *Report) writeJUnit(w io.Writer) error {
	out := junitSuites{Name: "verify-policy"}
	for _, c := range r.Components {
		s := junitSuite{Name: nonEmpty(c.Name, c.ContainerImage)}
		s.Properties = append(s.Properties, junitProperty{"image", nonEmpty(c.Ref, c.ContainerImage)}, junitProperty{"effective-time", r.EffectiveTime}, junitProperty{"policy-digest", r.Policy.Digest})
		if c.Error != "" {
			s.Cases = append(s.Cases, junitCase{Name: "verify", Classname: s.Name, Error: &junitMessage{Message: c.Error, Type: "error"}})
			s.Errors++
		}
		for _, v := range c.Violations {
			s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("[%s] %s", v.Metadata.Code, v.Metadata.Title), Classname: s.Name,
				Failure: &junitMessage{Message: v.Msg, Type: "violation", Text: oneLine(v.Metadata.Solution)}})
			s.Failures++
		}
		for _, v := range c.Warnings {
			s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("[%s] %s", v.Metadata.Code, v.Metadata.Title), Classname: s.Name,
				Skipped: &junitMessage{Message: "warning: " + v.Msg}})
			s.Skipped++
		}
		if len(c.Successes) > 0 {
			for _, v := range c.Successes {
				s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("[%s] %s", v.Metadata.Code, v.Metadata.Title), Classname: s.Name})
			}
		} else {
			for i := 0; i < c.SuccessCount; i++ {
				s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("passed check %d", i+1), Classname: s.Name})
			}
		}
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func mdEscape(s string) string {
	s = oneLine(s)
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func (r *Report) writeMarkdown(w io.Writer) error {
	s, f, wn := r.Counts()
	var b strings.Builder
	icon := map[string]string{"pass": "✅ passed", "fail": "❌ failed", "error": "⚠️ error"}[r.Outcome()]
	fmt.Fprintf(&b, "## Policy verification %s\n\n", icon)
	fmt.Fprintf(&b, "%d image(s) · %d violation(s) · %d warning(s) · %d success(es) · policy `%s` · effective time %s\n\n",
		len(r.Components), f, wn, s, r.Policy.Digest, r.EffectiveTime)
	b.WriteString("| image | result | violations | warnings | successes |\n|---|---|---:|---:|---:|\n")
	for _, c := range r.Components {
		res := "✅ pass"
		if c.Error != "" {
			res = "⚠️ error"
		} else if !c.Success {
			res = "❌ fail"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d |\n", mdEscape(nonEmpty(c.Name, c.ContainerImage)), res, len(c.Violations), len(c.Warnings), c.SuccessCount)
	}
	for _, c := range r.Components {
		if c.Error == "" && len(c.Violations) == 0 && len(c.Warnings) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", mdEscape(nonEmpty(c.Name, c.ContainerImage)))
		if c.Error != "" {
			fmt.Fprintf(&b, "Error: %s\n\n", mdEscape(c.Error))
		}
		if len(c.Violations)+len(c.Warnings) > 0 {
			b.WriteString("| | rule | message | how to fix |\n|---|---|---|---|\n")
			for _, v := range c.Violations {
				fmt.Fprintf(&b, "| ❌ | `%s` | %s | %s |\n", v.Metadata.Code, mdEscape(v.Msg), mdEscape(v.Metadata.Solution))
			}
			for _, v := range c.Warnings {
				fmt.Fprintf(&b, "| ⚠️ | `%s` | %s | %s |\n", v.Metadata.Code, mdEscape(v.Msg), mdEscape(v.Metadata.Solution))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TestOutput summarises r as Konflux's TEST_OUTPUT.
func (r *Report) TestOutput(now time.Time) results.TestOutput {
	s, f, wn := r.Counts()
	t := results.TestOutput{Timestamp: now.UTC().Format(time.RFC3339), Namespace: "default", Successes: s, Failures: f, Warnings: wn}
	switch {
	case r.Errors > 0:
		t.Result = results.Error
		t.Note = fmt.Sprintf("Task verify-policy could not verify %d of %d image(s); see the step log.", r.Errors, len(r.Components))
	case f > 0:
		t.Result = results.Failure
		t.Note = fmt.Sprintf("Task verify-policy failed: %d violation(s) in %d image(s). Refer to the step log for how to fix them.", f, len(r.Components))
	case wn > 0:
		t.Result = results.Warning
		t.Note = fmt.Sprintf("Task verify-policy passed with %d warning(s).", wn)
	default:
		t.Result = results.Success
		t.Note = fmt.Sprintf("Task verify-policy passed: %d image(s) comply with the policy.", len(r.Components))
	}
	return t
}

func (r *Report) writeAppStudio(w io.Writer, now time.Time) error {
	b, err := json.Marshal(r.TestOutput(now))
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
