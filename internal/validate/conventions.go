package validate

import (
	"fmt"
	"regexp"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"

	"github.com/trustline-dev/trustline/internal/catalog"
	"github.com/trustline-dev/trustline/internal/tekton"
)

// RequiredAnnotations are the Tekton catalog's annotations that every task
// and pipeline carries (the Tekton Hub and Artifact Hub read them).
var RequiredAnnotations = []string{
	"tekton.dev/pipelines.minVersion",
	"tekton.dev/categories",
	"tekton.dev/tags",
	"tekton.dev/displayName",
	"tekton.dev/platforms",
}

var (
	pinnedImage   = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	paramInScript = regexp.MustCompile(`\$\(\s*params[.\[]`)
	privilegeWord = regexp.MustCompile(`(?i)\b(root|privilege[sd]?|privileged)\b`)
)

// checkLayout enforces tasks/<name>/<major.minor>/<name>.yaml and the
// version label.
func checkLayout(file string, l catalog.Location, meta metadata) []tekton.Problem {
	var ps []tekton.Problem
	add := func(rule, field, format string, args ...any) {
		ps = append(ps, tekton.Problem{Rule: rule, File: file, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !l.IsDefinition() {
		add("TL001", "(file name)", "must be %s: a version directory holds <name>.yaml", catalog.DefinitionFile(l.Name))
	}
	if meta.name != l.Name {
		add("TL002", "metadata.name", "is %q but the directory says %q", meta.name, l.Name)
	}
	v, ok := meta.labels[catalog.VersionLabel]
	if !ok {
		add("TL002", "metadata.labels."+catalog.VersionLabel, "missing: the full semantic version (e.g. %s.0)", l.Version)
		return ps
	}
	mm, ok := catalog.MajorMinor(v)
	if !ok {
		add("TL002", "metadata.labels."+catalog.VersionLabel, "%q is not a MAJOR.MINOR.PATCH version", v)
		return ps
	}
	if mm != l.Version {
		add("TL002", "metadata.labels."+catalog.VersionLabel, "version %s does not belong in directory %s/ (expected %s/)", v, l.Version, mm)
	}
	return ps
}

type metadata struct {
	name   string
	labels map[string]string
}

// checkDocumented applies what Tasks and Pipelines share: the catalog
// annotations, a description saying what the kind ("task", "pipeline")
// does, and a description for every param.
func checkDocumented(file, kind string, annotations map[string]string, description string, params []v1.ParamSpec) []tekton.Problem {
	var ps []tekton.Problem
	for _, a := range RequiredAnnotations {
		if strings.TrimSpace(annotations[a]) == "" {
			ps = append(ps, tekton.Problem{Rule: "TL008", File: file, Field: "metadata.annotations." + a, Message: "missing Tekton catalog annotation"})
		}
	}
	if strings.TrimSpace(description) == "" {
		ps = append(ps, tekton.Problem{Rule: "TL009", File: file, Field: "spec.description", Message: "missing: say what the " + kind + " does"})
	}
	return append(ps, checkParams(file, "spec.params", params)...)
}

func checkParams(file, field string, params []v1.ParamSpec) []tekton.Problem {
	var ps []tekton.Problem
	for i, p := range params {
		if strings.TrimSpace(p.Description) == "" {
			ps = append(ps, tekton.Problem{Rule: "TL006", File: file, Field: fmt.Sprintf("%s[%d].description", field, i),
				Message: fmt.Sprintf("param %q has no description", p.Name)})
		}
	}
	return ps
}

// checkTask applies the step, param, privilege and result conventions.
func checkTask(file string, t *v1.Task) []tekton.Problem {
	ps := checkDocumented(file, "task", t.Annotations, t.Spec.Description, t.Spec.Params)
	ps = append(ps, checkTaskSpec(file, "spec", t.Spec)...)
	return ps
}

func checkTaskSpec(file, prefix string, spec v1.TaskSpec) []tekton.Problem {
	var ps []tekton.Problem
	add := func(rule, field, format string, args ...any) {
		ps = append(ps, tekton.Problem{Rule: rule, File: file, Field: prefix + field, Message: fmt.Sprintf(format, args...)})
	}
	privileged := ""
	if spec.StepTemplate != nil && needsPrivilege(spec.StepTemplate.SecurityContext) {
		privileged = "stepTemplate"
	}
	for i, s := range spec.Steps {
		field := fmt.Sprintf(".steps[%d]", i)
		if s.Ref != nil {
			// A StepAction supplies image and command; it is checked where
			// it is defined.
			continue
		}
		if !pinnedImage.MatchString(s.Image) {
			add("TL003", field+".image", "image %q is not pinned by digest (use repo@sha256:<digest>)", s.Image)
		}
		if len(s.Command) == 0 && s.Script == "" {
			add("TL004", field+".command", "step %q has no command: do not rely on the image's entrypoint", s.Name)
		}
		if paramInScript.MatchString(s.Script) {
			add("TL005", field+".script", "step %q splices $(params...) into its script: pass the value through env or args", s.Name)
		}
		if privileged == "" && needsPrivilege(s.SecurityContext) {
			privileged = fmt.Sprintf("step %q", s.Name)
		}
	}
	for i, s := range spec.Sidecars {
		if !pinnedImage.MatchString(s.Image) {
			add("TL003", fmt.Sprintf(".sidecars[%d].image", i), "image %q is not pinned by digest", s.Image)
		}
	}
	if privileged != "" && !privilegeWord.MatchString(spec.Description) {
		add("TL007", ".description", "%s runs as root or with privileges: the description must say why", privileged)
	}
	ps = append(ps, checkResultHints(file, prefix+".results", taskResults(spec.Results))...)
	return ps
}

func needsPrivilege(sc *corev1.SecurityContext) bool {
	if sc == nil {
		return false
	}
	if sc.Privileged != nil && *sc.Privileged {
		return true
	}
	if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		return true
	}
	if sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		return true
	}
	return sc.Capabilities != nil && len(sc.Capabilities.Add) > 0
}

type result struct {
	name       string
	typ        string
	properties map[string]string
}

func taskResults(rs []v1.TaskResult) []result {
	out := make([]result, len(rs))
	for i, r := range rs {
		out[i] = result{name: r.Name, typ: string(r.Type), properties: map[string]string{}}
		for k, p := range r.Properties {
			out[i].properties[k] = string(p.Type)
		}
	}
	return out
}

func pipelineResults(rs []v1.PipelineResult) []result {
	out := make([]result, len(rs))
	for i, r := range rs {
		out[i] = result{name: r.Name, typ: string(r.Type)}
	}
	return out
}

// checkResultHints enforces the shapes Tekton Chains reads: image results
// in URL/DIGEST pairs, artifact results as {uri, digest} objects, and the
// CHAINS-GIT_ pair.
func checkResultHints(file, field string, rs []result) []tekton.Problem {
	var ps []tekton.Problem
	names := map[string]int{}
	for i, r := range rs {
		names[r.name] = i
	}
	pair := func(a, b string) {
		for n, i := range names {
			if !strings.HasSuffix(n, a) {
				continue
			}
			mate := strings.TrimSuffix(n, a) + b
			if _, ok := names[mate]; !ok {
				ps = append(ps, tekton.Problem{Rule: "TL010", File: file, Field: fmt.Sprintf("%s[%d]", field, i),
					Message: fmt.Sprintf("result %q needs its pair %q: Tekton Chains reads them together", n, mate)})
			}
		}
	}
	pair("IMAGE_URL", "IMAGE_DIGEST")
	pair("IMAGE_DIGEST", "IMAGE_URL")
	pair("CHAINS-GIT_URL", "CHAINS-GIT_COMMIT")
	pair("CHAINS-GIT_COMMIT", "CHAINS-GIT_URL")
	for i, r := range rs {
		if !strings.HasSuffix(r.name, "ARTIFACT_OUTPUTS") && !strings.HasSuffix(r.name, "ARTIFACT_INPUTS") {
			continue
		}
		if r.typ != "" && r.typ != string(v1.ResultsTypeObject) {
			ps = append(ps, tekton.Problem{Rule: "TL010", File: file, Field: fmt.Sprintf("%s[%d].type", field, i),
				Message: fmt.Sprintf("result %q must be an object {uri, digest} for Tekton Chains", r.name)})
			continue
		}
		if r.properties == nil {
			continue // pipeline results take their type from the task
		}
		for _, p := range []string{"uri", "digest"} {
			if _, ok := r.properties[p]; !ok {
				ps = append(ps, tekton.Problem{Rule: "TL010", File: file, Field: fmt.Sprintf("%s[%d].properties", field, i),
					Message: fmt.Sprintf("result %q lacks property %q that Tekton Chains reads", r.name, p)})
			}
		}
	}
	return ps
}

// checkPipeline applies the conventions to a Pipeline: annotations, param
// descriptions, bundle references pinned by digest, inline task specs and
// the result hints of pipeline results.
func checkPipeline(file string, p *v1.Pipeline) []tekton.Problem {
	ps := checkDocumented(file, "pipeline", p.Annotations, p.Spec.Description, p.Spec.Params)
	ps = append(ps, checkPipelineTasks(file, "spec.tasks", p.Spec.Tasks)...)
	ps = append(ps, checkPipelineTasks(file, "spec.finally", p.Spec.Finally)...)
	ps = append(ps, checkResultHints(file, "spec.results", pipelineResults(p.Spec.Results))...)
	return ps
}

func checkPipelineTasks(file, field string, tasks []v1.PipelineTask) []tekton.Problem {
	var ps []tekton.Problem
	for i, t := range tasks {
		f := fmt.Sprintf("%s[%d]", field, i)
		if t.TaskRef != nil {
			ps = append(ps, checkRef(file, f+".taskRef", t.TaskRef.Resolver, t.TaskRef.Params)...)
		}
		if t.TaskSpec != nil {
			ps = append(ps, checkTaskSpec(file, f+".taskSpec", t.TaskSpec.TaskSpec)...)
		}
	}
	return ps
}

// checkRef requires a bundles-resolver reference to name its bundle by
// digest: a tag can be moved to other content, and policy trusts digests.
func checkRef(file, field string, resolver v1.ResolverName, params v1.Params) []tekton.Problem {
	if resolver != "bundles" {
		return nil
	}
	for i, p := range params {
		if p.Name == "bundle" && !pinnedImage.MatchString(p.Value.StringVal) && !strings.Contains(p.Value.StringVal, "$(") {
			return []tekton.Problem{{Rule: "TL011", File: file, Field: fmt.Sprintf("%s.params[%d]", field, i),
				Message: fmt.Sprintf("bundle %q is not pinned by digest", p.Value.StringVal)}}
		}
	}
	return nil
}

func checkStepAction(file string, s *v1beta1.StepAction) []tekton.Problem {
	var ps []tekton.Problem
	if !pinnedImage.MatchString(s.Spec.Image) {
		ps = append(ps, tekton.Problem{Rule: "TL003", File: file, Field: "spec.image", Message: fmt.Sprintf("image %q is not pinned by digest", s.Spec.Image)})
	}
	if len(s.Spec.Command) == 0 && s.Spec.Script == "" {
		ps = append(ps, tekton.Problem{Rule: "TL004", File: file, Field: "spec.command", Message: "no command: do not rely on the image's entrypoint"})
	}
	if paramInScript.MatchString(s.Spec.Script) {
		ps = append(ps, tekton.Problem{Rule: "TL005", File: file, Field: "spec.script", Message: "splices $(params...) into the script: pass the value through env or args"})
	}
	return ps
}

func checkRun(file string, obj any) []tekton.Problem {
	switch r := obj.(type) {
	case *v1.PipelineRun:
		var ps []tekton.Problem
		if r.Spec.PipelineRef != nil {
			ps = append(ps, checkRef(file, "spec.pipelineRef", r.Spec.PipelineRef.Resolver, r.Spec.PipelineRef.Params)...)
		}
		if r.Spec.PipelineSpec != nil {
			ps = append(ps, checkPipelineTasks(file, "spec.pipelineSpec.tasks", r.Spec.PipelineSpec.Tasks)...)
			ps = append(ps, checkPipelineTasks(file, "spec.pipelineSpec.finally", r.Spec.PipelineSpec.Finally)...)
		}
		return ps
	case *v1.TaskRun:
		if r.Spec.TaskRef != nil {
			return checkRef(file, "spec.taskRef", r.Spec.TaskRef.Resolver, r.Spec.TaskRef.Params)
		}
		if r.Spec.TaskSpec != nil {
			return checkTaskSpec(file, "spec.taskSpec", *r.Spec.TaskSpec)
		}
	}
	return nil
}
