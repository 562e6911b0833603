package tasks_test

import rego.v1

import data.lib.fixtures
import data.tasks

test_required_tasks_ran_pass if {
	count(tasks.deny) == 0 with input as fixtures.good_input
}

test_required_tasks_ran_missing_scan if {
	deps := [d | some d in fixtures.good_deps; not contains(object.get(d, "uri", ""), "task-scan")]
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(deps)}])
	results := tasks.deny with input as inp
	fixtures.codes(results) == {"tasks.required_tasks_ran"}
	some r in results
	r.term == "scan"
}

test_required_tasks_ran_from_pipeline_spec if {
	spec := {"tasks": [{"name": "git-clone"}, {"name": "build"}, {"name": "sbom"}, {"name": "x", "taskRef": {"params": [{"name": "name", "value": "scan"}]}}]}
	att := json.patch(fixtures.provenance_with([]), [{"op": "replace", "path": "/statement/predicate/buildDefinition/externalParameters/runSpec", "value": {"pipelineSpec": spec}}])
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": att}])
	count(tasks.deny) == 0 with input as inp
}

test_required_tasks_ran_rule_data if {
	fixtures.codes(tasks.deny) == {"tasks.required_tasks_ran"} with input as fixtures.good_input
		with data.rule_data__configuration__ as {"required_tasks": ["sast"]}
}
