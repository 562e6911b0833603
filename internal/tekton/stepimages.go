package tekton

import (
	"sort"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// StepImages lists the images a task's steps and sidecars run, sorted and
// without duplicates, as catalog.yaml records them (both validate and the
// catalog's sync compare against this list).
func StepImages(t *v1.Task) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range t.Spec.Steps {
		if s.Image != "" && !seen[s.Image] {
			seen[s.Image] = true
			out = append(out, s.Image)
		}
	}
	for _, s := range t.Spec.Sidecars {
		if s.Image != "" && !seen[s.Image] {
			seen[s.Image] = true
			out = append(out, s.Image)
		}
	}
	sort.Strings(out)
	return out
}
