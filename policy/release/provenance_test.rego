package provenance_test

import rego.v1

import data.lib.fixtures
import data.provenance

test_attestation_present_pass if {
	count(provenance.deny) == 0 with input as fixtures.good_input
}

test_attestation_present_missing if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations", "value": [fixtures.sbom]}])
	fixtures.codes(provenance.deny) == {"provenance.attestation_present"} with input as inp
}

test_builder_trusted_other_builder if {
	att := json.patch(fixtures.provenance, [{"op": "replace", "path": "/statement/predicate/runDetails/builder/id", "value": "https://evil.example/builder"}])
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations", "value": [att]}])
	results := provenance.deny with input as inp
	fixtures.codes(results) == {"provenance.builder_trusted"}
	some r in results
	r.term == "https://evil.example/builder"
}

test_builder_trusted_v02 if {
	att := {"statement": {"predicateType": "https://slsa.dev/provenance/v0.2", "predicate": {"builder": {"id": "https://tekton.dev/chains/v2"}}}}
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations", "value": [att]}])
	count(provenance.deny) == 0 with input as inp
}

test_builder_trusted_rule_data_override if {
	fixtures.codes(provenance.deny) == {"provenance.builder_trusted"} with input as fixtures.good_input
		with data.rule_data__configuration__ as {"allowed_builder_ids": ["https://other.example"]}
}
