# METADATA
# title: Test results
# description: >-
#   Every test and scan task reported success: the Konflux TEST_OUTPUT
#   results recorded in provenance and in test-result attestations.
package test

import rego.v1

import data.lib

# METADATA
# title: Every TEST_OUTPUT passed
# description: >-
#   No TEST_OUTPUT (from a TaskRun in provenance or inside a
#   https://in-toto.io/attestation/test-result/v0.1 attestation) reports
#   FAILURE or ERROR, and no test-result attestation reports FAILED.
# custom:
#   short_name: no_failed_tests
#   failure_msg: Test %s reported %s
#   solution: Fix the failing test or scan and rebuild; see the task's TEST_OUTPUT note.
#   collections:
#   - minimal
deny contains result if {
	some t in _outputs
	t.result in {"FAILURE", "ERROR", "FAILED"}
	result := lib.result_helper_with_term(rego.metadata.chain(), [t.name, _describe(t)], t.name)
}

# METADATA
# title: TEST_OUTPUT warnings
# description: A TEST_OUTPUT reports WARNING or a test-result attestation reports WARNED.
# custom:
#   short_name: test_warnings
#   failure_msg: Test %s reported %s
#   solution: Review the warnings of the test or scan.
warn contains result if {
	some t in _outputs
	t.result in {"WARNING", "WARNED"}
	result := lib.result_helper_with_term(rego.metadata.chain(), [t.name, _describe(t)], t.name)
}

# Test outputs from TaskRun results in provenance. A policy gate's own
# TEST_OUTPUT (verify-policy inside the build pipeline, rule data
# policy_gate_tasks) is a verdict about the image, not a test of it: the
# release gate evaluates the policy again, so counting the earlier verdict
# would only repeat it (or, for a gate that could not yet see the
# PipelineRun's provenance, contradict it).
_outputs contains {"name": name, "result": object.get(out, "result", ""), "note": object.get(out, "note", "")} if {
	some dep in lib.task_deps
	not _policy_gate(dep)
	tr := lib.task_run(dep)
	some r in object.get(tr, ["status", "results"], [])
	r.name == "TEST_OUTPUT"
	out := lib.decode_value(r.value)
	name := object.get(tr, ["metadata", "labels", "tekton.dev/pipelineTask"], object.get(dep, "uri", "task"))
}

# Test-result attestations: their own result, and any Konflux TEST_OUTPUT
# object they carry (any object with "result" and a count).
_outputs contains {"name": name, "result": object.get(att.statement.predicate, "result", ""), "note": ""} if {
	some att in lib.attestations_of({lib.testresult_type})
	name := _att_name(att)
}

_outputs contains {"name": name, "result": obj.result, "note": object.get(obj, "note", "")} if {
	some att in lib.attestations_of({lib.testresult_type})
	name := _att_name(att)
	walk(att.statement.predicate, [_, obj])
	is_object(obj)
	is_string(obj.result)
	_is_test_output(obj)
}

_policy_gate(dep) if {
	some n in lib.task_names(dep)
	n in lib.rule_data("policy_gate_tasks")
}

_is_test_output(obj) if is_number(obj.failures)

_is_test_output(obj) if is_number(obj.successes)

_att_name(att) := name if {
	name := att.statement.predicate.url
	is_string(name)
} else := concat(",", [n |
	some c in object.get(att.statement.predicate, "configuration", [])
	n := c.name
	is_string(n)
]) if {
	count(object.get(att.statement.predicate, "configuration", [])) > 0
} else := "test-result"

_describe(t) := sprintf("%s: %s", [t.result, t.note]) if t.note != ""

_describe(t) := t.result if t.note == ""
