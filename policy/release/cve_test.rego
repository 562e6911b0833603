package cve_test

import rego.v1

import data.cve
import data.lib.fixtures

critical := {"id": "CVE-2026-9999", "ratings": [{"severity": "low"}, {"severity": "critical"}], "affects": [{"ref": "pkg:generic/openssl@3.0"}]}

with_vulns(vulns) := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/2", "value": fixtures.vuln_report(vulns)}])

test_scan_attached_pass if {
	count(cve.deny) == 0 with input as fixtures.good_input
}

test_scan_attached_missing if {
	inp := json.patch(fixtures.good_input, [{"op": "remove", "path": "/attestations/2"}])
	fixtures.codes(cve.deny) == {"cve.scan_attached"} with input as inp
}

test_below_threshold_critical if {
	results := cve.deny with input as with_vulns([fixtures.low_vuln, critical])
	fixtures.codes(results) == {"cve.below_threshold"}
	some r in results
	r.term == "CVE-2026-9999"
}

test_below_threshold_cyclonedx_vex if {
	vexed := object.union(critical, {"analysis": {"state": "not_affected", "justification": "code_not_reachable"}})
	count(cve.deny) == 0 with input as with_vulns([vexed])
}

test_below_threshold_openvex if {
	openvex := {"statement": {"predicateType": "https://openvex.dev/ns", "predicate": {"statements": [{"vulnerability": {"name": "CVE-2026-9999"}, "status": "not_affected"}]}}}
	inp := json.patch(with_vulns([critical]), [{"op": "add", "path": "/attestations/-", "value": openvex}])
	count(cve.deny) == 0 with input as inp
}

test_below_threshold_rule_data_vex if {
	count(cve.deny) == 0 with input as with_vulns([critical])
		with data.rule_data__configuration__ as {"vex_statements": [{"vulnerability": "CVE-2026-9999", "status": "fixed"}]}
}

test_below_threshold_configured_low if {
	fixtures.codes(cve.deny) == {"cve.below_threshold"} with input as fixtures.good_input
		with data.rule_data__configuration__ as {"vulnerability_severity_threshold": "low"}
}

test_below_threshold_sarif if {
	sarif := {"runs": [{"tool": {"driver": {"rules": [{"id": "CVE-2026-7777", "properties": {"security-severity": "9.8"}}]}}, "results": [{"ruleId": "CVE-2026-7777", "level": "warning"}, {"ruleId": "CVE-2026-0002", "level": "note"}]}]}
	att := json.patch(fixtures.vuln_report([]), [{"op": "replace", "path": "/statement/predicate/scanner/result", "value": sarif}])
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/2", "value": att}])
	results := cve.deny with input as inp
	{r.term | some r in results} == {"CVE-2026-7777"}
	suppressed := json.patch(inp, [{"op": "add", "path": "/attestations/2/statement/predicate/scanner/result/runs/0/results/0/suppressions", "value": [{"kind": "external", "status": "accepted"}]}])
	count(cve.deny) == 0 with input as suppressed
}
