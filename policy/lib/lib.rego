# METADATA
# title: trustline policy library
# description: >-
#   Helpers shared by the release rules, written to be compatible with
#   Conforma's (Enterprise Contract) policy library: the same result shape,
#   the same rule data lookup and the same input document.
package lib

import rego.v1

# Predicate types the rules look for.
slsa_provenance_v1 := "https://slsa.dev/provenance/v1"

slsa_provenance_v02 := "https://slsa.dev/provenance/v0.2"

cyclonedx := "https://cyclonedx.org/bom"

spdx := "https://spdx.dev/Document"

vuln := "https://cosign.sigstore.dev/attestation/vuln/v1"

testresult_type := "https://in-toto.io/attestation/test-result/v0.1"

openvex := "https://openvex.dev/ns"

# rule_data returns the value of a rule data key: the policy source's
# ruleData (injected at rule_data__configuration__, as Conforma does) wins
# over rule_data_custom, which wins over the pack's defaults in rule_data.
rule_data(key) := value if {
	value := data.rule_data__configuration__[key]
} else := value if {
	value := data.rule_data_custom[key]
} else := value if {
	value := data.rule_data[key]
} else := []

# result_helper builds a Conforma result from the calling rule's metadata:
# code is "<package>.<short_name>", msg is custom.failure_msg formatted
# with params.
result_helper(chain, params) := result if {
	ann := chain[0].annotations
	path := chain[0].path
	pkg := path[count(path) - 2]
	result := {
		"code": sprintf("%s.%s", [pkg, ann.custom.short_name]),
		"msg": sprintf(ann.custom.failure_msg, params),
		"effective_on": object.get(ann.custom, "effective_on", "2022-01-01T00:00:00Z"),
		"collections": object.get(ann.custom, "collections", []),
	}
}

# result_helper_with_term adds a term, which include/exclude entries can
# name ("package.rule:term").
result_helper_with_term(chain, params, term) := object.union(result_helper(chain, params), {"term": term})

# Attestations by predicate type; input.attestations holds only those whose
# signature verified and whose subject is the image's digest.
attestations_of(types) := [a |
	some a in input.attestations
	a.statement.predicateType in types
]

provenances := attestations_of({slsa_provenance_v1, slsa_provenance_v02})

provenances_v1 := attestations_of({slsa_provenance_v1})

# Tekton task runs recorded in SLSA v1 provenance (Chains' slsa/v2alpha4
# shape): each resolved dependency named "pipelineTask" or "task", with the
# TaskRun in its base64 content when Chains recorded it.
task_deps := [dep |
	some att in provenances_v1
	some dep in att.statement.predicate.buildDefinition.resolvedDependencies
	dep.name in {"pipelineTask", "task"}
]

task_run(dep) := tr if {
	tr := json.unmarshal(base64.decode(dep.content))
} else := {}

# task_names returns every name a task dependency is known by: its
# tekton.dev/task and tekton.dev/pipelineTask labels, its bundle resolver
# "name" parameter and the last part of its OCI repository ("task-" removed).
task_names(dep) := {n |
	some n in _task_name_candidates(dep)
	n != ""
}

_task_name_candidates(dep) := array.concat(
	[
		object.get(task_run(dep), ["metadata", "labels", "tekton.dev/task"], ""),
		object.get(task_run(dep), ["metadata", "labels", "tekton.dev/pipelineTask"], ""),
		trim_prefix(_uri_base(object.get(dep, "uri", "")), "task-"),
	],
	[p.value |
		some p in object.get(task_run(dep), ["spec", "taskRef", "params"], [])
		p.name == "name"
	],
)

_uri_base(uri) := "" if uri == ""

_uri_base(uri) := parts[count(parts) - 1] if {
	uri != ""
	parts := split(trim_prefix(uri, "oci://"), "/")
}

# Task names from the pipeline spec when there is no TaskRun content.
pipeline_task_names := {n |
	some att in provenances_v1
	spec := object.get(att.statement.predicate, ["buildDefinition", "externalParameters", "runSpec", "pipelineSpec"], {})
	some t in array.concat(object.get(spec, "tasks", []), object.get(spec, "finally", []))
	some n in array.concat([t.name], [p.value |
		some p in object.get(t, ["taskRef", "params"], [])
		p.name == "name"
	])
}

all_task_names := {n |
	some dep in task_deps
	some n in task_names(dep)
} | pipeline_task_names

# Task results named name, from the TaskRuns in provenance; string values
# holding JSON are decoded.
task_results(name) := [v |
	some dep in task_deps
	some r in object.get(task_run(dep), ["status", "results"], [])
	r.name == name
	v := decode_value(r.value)
]

decode_value(v) := json.unmarshal(v) if {
	is_string(v)
	json.is_valid(v)
} else := v

# Time in nanoseconds that rules compare dates to. Conforma sets
# data.config.policy.when_ns; otherwise time.now_ns(), which trustline
# sets to the run's effective time.
now_ns := data.config.policy.when_ns if {
	data.config.policy.when_ns
} else := time.now_ns()

# to_ns reads an RFC 3339 date or a bare YYYY-MM-DD date.
to_ns(s) := time.parse_rfc3339_ns(s) if {
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$`, s)
} else := time.parse_ns("2006-01-02", s) if {
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, s)
}
