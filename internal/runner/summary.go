package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"

	"github.com/trustline-dev/trustline/internal/results"
)

// endLine is the progress line for a finished TaskRun, with a line for
// each image Chains signed for it.
func (r *Runner) endLine(task string, tr *v1.TaskRun) string {
	d := duration(tr).Round(time.Millisecond)
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	if c != nil && c.IsTrue() {
		line := fmt.Sprintf("%-24s succeeded in %s", task, d)
		for _, s := range r.Signed() {
			if s.TaskRun == tr.Name {
				line += fmt.Sprintf("\n%-24s chains: signed %s, provenance in %s", task, s.Image, s.Attestation.TagStr())
			}
		}
		return line
	}
	msg := ""
	if c != nil {
		msg = c.Reason + ": " + c.Message
	}
	return fmt.Sprintf("%-24s FAILED in %s: %s", task, d, msg)
}

func duration(tr *v1.TaskRun) time.Duration {
	if tr == nil || tr.Status.StartTime == nil || tr.Status.CompletionTime == nil {
		return 0
	}
	return tr.Status.CompletionTime.Sub(tr.Status.StartTime.Time)
}

// keyResults are shown in the summary, in this order, when a task has
// them; other results are listed by name only.
var keyResults = []string{"IMAGE_URL", "IMAGE_DIGEST", "commit", "TEST_OUTPUT", "SBOM_BLOB_URL", "SCAN_OUTPUT"}

func resultSummary(tr *v1.TaskRun) string {
	if tr == nil {
		return ""
	}
	byName := map[string]v1.TaskRunResult{}
	for _, r := range tr.Status.Results {
		byName[r.Name] = r
	}
	var parts []string
	shown := map[string]bool{}
	for _, k := range keyResults {
		if r, ok := byName[k]; ok {
			parts = append(parts, k+"="+shortValue(k, r.Value))
			shown[k] = true
		}
	}
	var rest []string
	for _, r := range tr.Status.Results {
		if !shown[r.Name] {
			rest = append(rest, r.Name)
		}
	}
	sort.Strings(rest)
	if len(rest) > 0 && len(parts) == 0 {
		for i, n := range rest {
			if i == 2 {
				parts = append(parts, fmt.Sprintf("(+%d more)", len(rest)-2))
				break
			}
			parts = append(parts, n+"="+shortValue(n, byName[n].Value))
		}
	}
	return strings.Join(parts, " ")
}

func shortValue(name string, v v1.ResultValue) string {
	var s string
	switch v.Type {
	case v1.ParamTypeArray:
		s = "[" + strings.Join(v.ArrayVal, ",") + "]"
	case v1.ParamTypeObject:
		b, _ := json.Marshal(v.ObjectVal)
		s = string(b)
	default:
		s = v.StringVal
	}
	if name == "TEST_OUTPUT" {
		var t results.TestOutput
		if json.Unmarshal([]byte(s), &t) == nil && t.Result != "" {
			return fmt.Sprintf("%s(failures=%d,warnings=%d)", t.Result, t.Failures, t.Warnings)
		}
	}
	if strings.HasPrefix(s, "sha256:") && len(s) > 19 {
		return s[:19] + "…"
	}
	if len(s) > 60 {
		return s[:59] + "…"
	}
	return s
}

// WriteSummary prints the table of a pipeline run: task, status,
// duration, key results.
func WriteSummary(w io.Writer, run *Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tSTATUS\tDURATION\tRESULTS")
	for _, t := range run.Tasks {
		name := t.Name
		if t.Finally {
			name += " (finally)"
		}
		res := resultSummary(t.TaskRun)
		if t.Status != "Succeeded" && t.Reason != "" {
			res = t.Reason
			if len(res) > 100 {
				res = res[:99] + "…"
			}
		}
		d := "-"
		if t.TaskRun != nil {
			d = t.Duration.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, t.Status, d, res)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	pr := run.PipelineRun
	c := pr.Status.GetCondition(apis.ConditionSucceeded)
	total := time.Duration(0)
	if pr.Status.StartTime != nil && pr.Status.CompletionTime != nil {
		total = pr.Status.CompletionTime.Sub(pr.Status.StartTime.Time)
	}
	if c != nil {
		fmt.Fprintf(w, "PipelineRun %s: %s (%s) in %s\n", pr.Name, c.Reason, c.Message, total)
	}
	for _, r := range pr.Status.Results {
		fmt.Fprintf(w, "  result %s = %s\n", r.Name, shortValue(r.Name, r.Value))
	}
	return nil
}

// Verdict describes the outcome of the run's verify-policy task (a task
// named verify-policy, or running the verify-policy Task): PASS or FAIL
// with TEST_OUTPUT's counts, and for a failure the end of its log, which
// names the violated rules. It is "" when no such task ran.
func Verdict(run *Run) string {
	for _, t := range run.Tasks {
		if t.TaskRun == nil {
			continue
		}
		if t.Name != "verify-policy" && t.TaskRun.Labels["tekton.dev/task"] != "verify-policy" {
			continue
		}
		var out strings.Builder
		counts := ""
		for _, r := range t.TaskRun.Status.Results {
			if r.Name == "TEST_OUTPUT" {
				counts = " " + shortValue(r.Name, r.Value)
			}
		}
		if t.Status == "Succeeded" {
			fmt.Fprintf(&out, "policy verdict: PASS%s", counts)
			return out.String()
		}
		fmt.Fprintf(&out, "policy verdict: FAIL%s", counts)
		for _, s := range t.TaskRun.Status.TaskSpec.Steps {
			log := filepath.Join(workDirOf(t.TaskRun), "logs", s.Name+".log")
			b, err := os.ReadFile(log)
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if len(lines) > 25 {
				lines = lines[len(lines)-25:]
			}
			fmt.Fprintf(&out, "\n  (%s)\n  %s", log, strings.Join(lines, "\n  "))
		}
		return out.String()
	}
	return ""
}
