package test_test

import rego.v1

import data.lib.fixtures
import data.test

test_no_failed_tests_pass if {
	count(test.deny) == 0 with input as fixtures.good_input
	count(test.warn) == 0 with input as fixtures.good_input
}

test_no_failed_tests_task_output_failure if {
	out := "{\"result\":\"FAILURE\",\"note\":\"2 critical\",\"successes\":1,\"failures\":2,\"warnings\":0}"
	deps := array.concat([d | some d in fixtures.good_deps; not contains(object.get(d, "uri", ""), "task-scan")], [fixtures.task_dep("scan", "scan", [{"name": "TEST_OUTPUT", "value": out}])])
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(deps)}])
	results := test.deny with input as inp
	fixtures.codes(results) == {"test.no_failed_tests"}
	some r in results
	contains(r.msg, "2 critical")
}

test_no_failed_tests_attestation_failed if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/3", "value": fixtures.attested_tests("FAILED")}])
	fixtures.codes(test.deny) == {"test.no_failed_tests"} with input as inp
}

test_no_failed_tests_embedded_test_output if {
	att := json.patch(fixtures.attested_tests("PASSED"), [{"op": "add", "path": "/statement/predicate/testOutput", "value": {"result": "ERROR", "failures": 0, "successes": 0}}])
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/3", "value": att}])
	fixtures.codes(test.deny) == {"test.no_failed_tests"} with input as inp
}

test_test_warnings if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/3", "value": fixtures.attested_tests("WARNED")}])
	fixtures.codes(test.warn) == {"test.test_warnings"} with input as inp
	count(test.deny) == 0 with input as inp
}

# The in-pipeline policy gate's verdict is not a test result: the release
# gate decides again, so its FAILURE does not count here.
test_no_failed_tests_skips_policy_gate if {
	out := "{\"result\":\"FAILURE\",\"note\":\"6 violation(s)\",\"successes\":12,\"failures\":6,\"warnings\":0}"
	deps := array.concat(fixtures.good_deps, [fixtures.task_dep("verify-policy", "verify-policy", [{"name": "TEST_OUTPUT", "value": out}])])
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(deps)}])
	count(test.deny) == 0 with input as inp
		with data.rule_data as {"policy_gate_tasks": ["verify-policy"]}

	# Without the rule data it would be a failed test.
	fixtures.codes(test.deny) == {"test.no_failed_tests"} with input as inp
		with data.rule_data as {"policy_gate_tasks": []}
}
