package base_image_test

import rego.v1

import data.base_image
import data.lib.fixtures

test_allowed_registry_pass if {
	count(base_image.deny) == 0 with input as fixtures.good_input
}

test_allowed_registry_other_registry if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/image/parent/ref", "value": "evil.example/base:latest"}])
	results := base_image.deny with input as inp
	fixtures.codes(results) == {"base_image.allowed_registry"}
	some r in results
	r.term == "evil.example/base:latest"
}

test_allowed_registry_from_sbom if {
	f := [{"components": [{"name": "docker.io/someone/base", "version": "1", "properties": [{"name": "konflux:container:is_base_image", "value": "true"}]}]}]
	inp := json.patch(fixtures.good_input, [{"op": "add", "path": "/attestations/1/statement/predicate/formulation", "value": f}])
	fixtures.codes(base_image.deny) == {"base_image.allowed_registry"} with input as inp
}

test_allowed_registry_rule_data if {
	fixtures.codes(base_image.deny) == {"base_image.allowed_registry"} with input as fixtures.good_input
		with data.rule_data__configuration__ as {"allowed_registry_prefixes": ["registry.example/"]}
}
