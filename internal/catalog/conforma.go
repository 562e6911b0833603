package catalog

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
	var common commonTasks
	for _, e := range c.Pipelines {
		list, err := datedVersions(e, o.UnpublishedOn)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			continue
		}
		if err := out.requirePipelineTasks(o.Root, e.Name, list); err != nil {
			return nil, err
		}
		common.narrow(newestTasks(out.PipelineRequiredTasks[e.Name], list))
	}
	if len(common.names) > 0 {
		out.RequiredTasks = []RequiredTasks{common.requiredTasks()}
	}
	out.RuleData.AllowedRegistryPrefixes = allowedRegistryPrefixes(o.AllowedRegistries)
	out.RuleData.AllowedStepImageRegistryPrefixes = c.stepImageRegistryPrefixes()
	return out, nil
}

// datedVersion is a pipeline version with the date its requirements take
// effect.
type datedVersion struct {
	on time.Time
	v  Version
}

// datedVersions are a pipeline's published versions, each dated by its
// first publication; a pipeline with none published yet has its newest
// version, dated unpublishedOn.
func datedVersions(e Entry, unpublishedOn time.Time) ([]datedVersion, error) {
	var list []datedVersion
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
		list = append(list, datedVersion{first, v})
	}
	if len(list) == 0 && len(e.Versions) > 0 {
		list = append(list, datedVersion{unpublishedOn, e.Versions[len(e.Versions)-1]})
	}
	return list, nil
}

// requirePipelineTasks adds pipeline's entries to pipeline-required-tasks:
// for each version in list, the Tasks it runs from its date on.
func (out *ConformaData) requirePipelineTasks(root, pipeline string, list []datedVersion) error {
	for _, d := range list {
		names, err := pipelineTaskNames(filepath.Join(root, d.v.Path))
		if err != nil {
			return fmt.Errorf("pipelines[%s].versions[%s]: %w", pipeline, d.v.Version, err)
		}
		out.PipelineRequiredTasks[pipeline] = append(out.PipelineRequiredTasks[pipeline], RequiredTasks{EffectiveOn: formatTime(d.on), Tasks: names})
	}
	return nil
}

// newestTasks is the Tasks the newest version in list runs, and its date;
// required holds an entry for each version of list, in list's order (as
// requirePipelineTasks wrote them). Of versions of one date, the last
// counts, as the last of entries with one effective_on does.
func newestTasks(required []RequiredTasks, list []datedVersion) ([]string, time.Time) {
	newest := 0
	for i, d := range list {
		if !d.on.Before(list[newest].on) {
			newest = i
		}
	}
	return required[newest].Tasks, list[newest].on
}

// commonTasks gathers the Tasks every pipeline's newest version runs, and
// the latest of those versions' dates, from which all of them run them.
type commonTasks struct {
	names map[string]bool // nil until a pipeline is seen
	on    time.Time
}

// narrow keeps the Tasks of one more pipeline's newest version, dated on.
func (ct *commonTasks) narrow(names []string, on time.Time) {
	set := map[string]bool{}
	for _, n := range names {
		if ct.names == nil || ct.names[n] {
			set[n] = true
		}
	}
	ct.names = set
	if on.After(ct.on) {
		ct.on = on
	}
}

func (ct *commonTasks) requiredTasks() RequiredTasks {
	return RequiredTasks{EffectiveOn: formatTime(ct.on), Tasks: slices.Sorted(maps.Keys(ct.names))}
}

// allowedRegistryPrefixes are the registries given, trimmed, blanks left
// out.
func allowedRegistryPrefixes(registries []string) []string {
	var out []string
	for _, r := range registries {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// stepImageRegistryPrefixes are the registry prefixes of every step image
// of every task and pipeline version, sorted, each once.
func (c *Catalog) stepImageRegistryPrefixes() []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]Entry{c.Tasks, c.Pipelines} {
		for _, e := range list {
			for _, v := range e.Versions {
				for _, img := range v.StepImages {
					p := registryPrefix(img)
					if p != "" && !seen[p] {
						seen[p] = true
						out = append(out, p)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
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
