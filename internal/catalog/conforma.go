package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/trustline-dev/trustline/internal/tekton"
)

// RequiredTasks is one entry of Conforma's required-tasks and
// pipeline-required-tasks data: the Task names a pipeline must have run,
// from effective_on on.
type RequiredTasks struct {
	EffectiveOn string   `json:"effective_on"`
	Tasks       []string `json:"tasks"`
}

// ConformaRuleData is the rule_data part of ConformaData.
type ConformaRuleData struct {
	// AllowedRegistryPrefixes is for Conforma's base_image_registries
	// rules: where base images may come from.
	AllowedRegistryPrefixes []string `json:"allowed_registry_prefixes,omitempty"`
	// AllowedStepImageRegistryPrefixes is for its step_image_registries
	// rules: where the library's step images live.
	AllowedStepImageRegistryPrefixes []string `json:"allowed_step_image_registry_prefixes,omitempty"`
}

// ConformaData is one data document in the layout Conforma's release
// policy reads (its example/data, merged into one file): trusted_tasks,
// pipeline-required-tasks (keyed by pipeline), required-tasks (the
// default list), and rule_data with the allowed registries.
type ConformaData struct {
	TrustedTasks          map[string][]TrustedTask   `json:"trusted_tasks"`
	PipelineRequiredTasks map[string][]RequiredTasks `json:"pipeline-required-tasks"`
	RequiredTasks         []RequiredTasks            `json:"required-tasks"`
	RuleData              ConformaRuleData           `json:"rule_data"`
}

// ConformaOptions configures ConformaData.
type ConformaOptions struct {
	// Root is the repository root the versions' paths are relative to.
	Root string
	// Grace is passed to TrustedTasks.
	Grace time.Duration
	// UnpublishedOn is the effective_on of a pipeline none of whose
	// versions is published yet (its newest version is listed).
	UnpublishedOn time.Time
	// AllowedRegistries are written as allowed_registry_prefixes.
	AllowedRegistries []string
}

// ConformaData builds the rule data Conforma's release policy needs to
// judge builds of the library's pipelines: trusted_tasks as TrustedTasks
// writes it; for every pipeline, one pipeline-required-tasks entry per
// published version (effective from its first publication) listing the
// names of the Tasks it runs (Conforma matches a task by its Task name,
// the bundles resolver's "name" param or taskRef.name); required-tasks,
// the Tasks every pipeline runs, effective from the latest of those
// dates; and the registries of the step images as
// allowed_step_image_registry_prefixes.
func (c *Catalog) ConformaData(o ConformaOptions) (*ConformaData, error) {
	tt, err := c.TrustedTasks(o.Grace)
	if err != nil {
		return nil, err
	}
	out := &ConformaData{TrustedTasks: tt.TrustedTasks, PipelineRequiredTasks: map[string][]RequiredTasks{}}
	var common map[string]bool
	var commonOn time.Time
	for _, e := range c.Pipelines {
		type dated struct {
			on time.Time
			v  Version
		}
		var list []dated
		for _, v := range e.Versions {
			if len(v.Published) == 0 {
				continue
			}
			first := time.Time{}
			for i, p := range v.Published {
				t, err := ParseDate(p.On)
				if err != nil {
					return nil, fmt.Errorf("pipelines[%s].versions[%s].published[%d].on: %w", e.Name, v.Version, i, err)
				}
				if first.IsZero() || t.Before(first) {
					first = t
				}
			}
			list = append(list, dated{first, v})
		}
		if len(list) == 0 && len(e.Versions) > 0 {
			list = append(list, dated{o.UnpublishedOn, e.Versions[len(e.Versions)-1]})
		}
		for _, d := range list {
			names, err := pipelineTaskNames(filepath.Join(o.Root, d.v.Path))
			if err != nil {
				return nil, fmt.Errorf("pipelines[%s].versions[%s]: %w", e.Name, d.v.Version, err)
			}
			out.PipelineRequiredTasks[e.Name] = append(out.PipelineRequiredTasks[e.Name], RequiredTasks{EffectiveOn: formatTime(d.on), Tasks: names})
		}
		if len(list) > 0 {
			newest := list[0]
			for _, d := range list[1:] {
				if d.on.After(newest.on) {
					newest = d
				}
			}
			latest := out.PipelineRequiredTasks[e.Name]
			var names []string
			for _, r := range latest {
				if r.EffectiveOn == formatTime(newest.on) {
					names = r.Tasks
				}
			}
			set := map[string]bool{}
			for _, n := range names {
				if common == nil || common[n] {
					set[n] = true
				}
			}
			common = set
			if newest.on.After(commonOn) {
				commonOn = newest.on
			}
		}
	}
	if len(common) > 0 {
		var names []string
		for n := range common {
			names = append(names, n)
		}
		sort.Strings(names)
		out.RequiredTasks = []RequiredTasks{{EffectiveOn: formatTime(commonOn), Tasks: names}}
	}
	for _, r := range o.AllowedRegistries {
		if r = strings.TrimSpace(r); r != "" {
			out.RuleData.AllowedRegistryPrefixes = append(out.RuleData.AllowedRegistryPrefixes, r)
		}
	}
	seen := map[string]bool{}
	for _, list := range [][]Entry{c.Tasks, c.Pipelines} {
		for _, e := range list {
			for _, v := range e.Versions {
				for _, img := range v.StepImages {
					p := registryPrefix(img)
					if p != "" && !seen[p] {
						seen[p] = true
						out.RuleData.AllowedStepImageRegistryPrefixes = append(out.RuleData.AllowedStepImageRegistryPrefixes, p)
					}
				}
			}
		}
	}
	sort.Strings(out.RuleData.AllowedStepImageRegistryPrefixes)
	return out, nil
}

// registryPrefix is the repository namespace of an image reference,
// "ghcr.io/trustline-dev/" for ghcr.io/trustline-dev/step-scan@sha256:…,
// as Conforma's prefixes are written (a prefix of the image reference).
func registryPrefix(img string) string {
	repo, _, _ := strings.Cut(img, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	i := strings.LastIndex(repo, "/")
	if i <= 0 {
		return ""
	}
	return repo[:i+1]
}

// pipelineTaskNames returns the sorted Task names a pipeline runs (tasks
// and finally). A task defined inline (taskSpec) has no Task name and is
// left out.
func pipelineTaskNames(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs, problems := tekton.Parse(path, b)
	if len(problems) > 0 {
		return nil, problems
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: want one Pipeline, found %d documents", path, len(docs))
	}
	p, ok := docs[0].Object.(*v1.Pipeline)
	if !ok {
		return nil, fmt.Errorf("%s: not a Pipeline", path)
	}
	set := map[string]bool{}
	for _, t := range append(append([]v1.PipelineTask(nil), p.Spec.Tasks...), p.Spec.Finally...) {
		if t.TaskRef == nil {
			continue
		}
		name := t.TaskRef.Name
		if name == "" {
			for _, prm := range t.TaskRef.Params {
				if prm.Name == "name" {
					name = prm.Value.StringVal
				}
			}
		}
		if name == "" {
			return nil, fmt.Errorf("%s: task %q: its taskRef names no Task (taskRef.name, or the resolver's name param)", path, t.Name)
		}
		set[name] = true
	}
	var names []string
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: the pipeline references no Task by name", path)
	}
	return names, nil
}
