package tekton

import "slices"

// preservedFields lists, for each apiVersion/kind that Tekton Pipelines
// v1.10.0 serves, the fields whose CRD schema
// (config/300-crds/*.yaml) is x-kubernetes-preserve-unknown-fields
// without properties: embedded specs (a Pipeline's taskSpec, a
// PipelineRun's pipelineSpec), volumes, pod templates and param values.
// The apiserver checks field names (case-sensitively) everywhere else
// and keeps whatever sits under these, so there the only decoder is the
// webhook's encoding/json, which matches field names case-insensitively
// ("mountpath" is mountPath). "[]" stands for any list index or map key.
// TestPreservedFieldsMatchTektonCRDs recomputes this from the CRDs.
var preservedFields = map[string][]string{
	"tekton.dev/v1beta1/Task":     taskPreservedFields,
	"tekton.dev/v1/Task":          taskPreservedFields,
	"tekton.dev/v1beta1/Pipeline": pipelinePreservedFields,
	"tekton.dev/v1/Pipeline":      pipelinePreservedFields,
	"tekton.dev/v1beta1/TaskRun": slices.Concat(taskRunSpecPreservedFields, []string{
		"status.retriesStatus",
		"status.steps[].results[].value",
		"status.taskResults[].value",
		"status.taskSpec",
	}),
	"tekton.dev/v1/TaskRun": slices.Concat(taskRunSpecPreservedFields, []string{
		"status.results[].value",
		"status.retriesStatus",
		"status.steps[].results[].value",
		"status.taskSpec.params[].default",
		"status.taskSpec.results[].value",
		"status.taskSpec.steps[].params[].value",
		"status.taskSpec.steps[].ref.params[].value",
		"status.taskSpec.volumes",
	}),
	"tekton.dev/v1beta1/PipelineRun": {
		"spec.params[].value",
		"spec.pipelineRef.params[].value",
		"spec.pipelineSpec",
		"spec.podTemplate.affinity",
		"spec.podTemplate.securityContext",
		"spec.podTemplate.volumes",
		"spec.taskRunSpecs[].taskPodTemplate.affinity",
		"spec.taskRunSpecs[].taskPodTemplate.securityContext",
		"spec.taskRunSpecs[].taskPodTemplate.volumes",
		"spec.workspaces[].volumeClaimTemplate",
		"status.pipelineResults[].value",
		"status.pipelineSpec",
		"status.runs[].status.extraFields",
		"status.runs[].status.retriesStatus",
		"status.taskRuns[].status.retriesStatus",
		"status.taskRuns[].status.steps[].results[].value",
		"status.taskRuns[].status.taskResults[].value",
		"status.taskRuns[].status.taskSpec",
	},
	"tekton.dev/v1/PipelineRun": {
		"spec.params[].value",
		"spec.pipelineRef.params[].value",
		"spec.pipelineSpec",
		"spec.taskRunSpecs[].podTemplate.affinity",
		"spec.taskRunSpecs[].podTemplate.securityContext",
		"spec.taskRunSpecs[].podTemplate.volumes",
		"spec.taskRunTemplate.podTemplate.affinity",
		"spec.taskRunTemplate.podTemplate.securityContext",
		"spec.taskRunTemplate.podTemplate.volumes",
		"spec.workspaces[].volumeClaimTemplate",
		"status.pipelineSpec",
		"status.results[].value",
	},
	"tekton.dev/v1alpha1/StepAction": {
		"spec.params[].default",
	},
	"tekton.dev/v1beta1/StepAction": {
		"spec.params[].default",
	},
	"tekton.dev/v1beta1/CustomRun": {
		"spec.customRef.params[].value",
		"spec.customSpec.spec",
		"spec.params[].value",
		"spec.workspaces[].volumeClaimTemplate",
		"status.extraFields",
		"status.retriesStatus",
	},
	"tekton.dev/v1alpha1/VerificationPolicy": {},
}

// Task and Pipeline have the same preserved fields in v1beta1 and v1;
// TaskRun the same spec fields, with a status that changed.
var (
	taskRunSpecPreservedFields = []string{
		"spec.params[].value",
		"spec.podTemplate.affinity",
		"spec.podTemplate.securityContext",
		"spec.podTemplate.volumes",
		"spec.taskRef.params[].value",
		"spec.taskSpec",
		"spec.workspaces[].volumeClaimTemplate",
	}
	taskPreservedFields = []string{
		"spec.params[].default",
		"spec.results[].value",
		"spec.steps[].params[].value",
		"spec.steps[].ref.params[].value",
		"spec.volumes",
	}
	pipelinePreservedFields = []string{
		"spec.finally[].matrix.include[].params[].value",
		"spec.finally[].matrix.params[].value",
		"spec.finally[].params[].value",
		"spec.finally[].pipelineRef.params[].value",
		"spec.finally[].pipelineSpec",
		"spec.finally[].taskRef.params[].value",
		"spec.finally[].taskSpec",
		"spec.params[].default",
		"spec.results[].value",
		"spec.tasks[].matrix.include[].params[].value",
		"spec.tasks[].matrix.params[].value",
		"spec.tasks[].params[].value",
		"spec.tasks[].pipelineRef.params[].value",
		"spec.tasks[].pipelineSpec",
		"spec.tasks[].taskRef.params[].value",
		"spec.tasks[].taskSpec",
	}
)
