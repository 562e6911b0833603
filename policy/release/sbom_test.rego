package sbom_test

import rego.v1

import data.lib.fixtures
import data.sbom

test_attached_pass if {
	count(sbom.deny) == 0 with input as fixtures.good_input
}

test_attached_missing if {
	inp := json.patch(fixtures.good_input, [{"op": "remove", "path": "/attestations/1"}])
	fixtures.codes(sbom.deny) == {"sbom.attached"} with input as inp
}

test_lists_packages_empty_cyclonedx if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/1/statement/predicate/components", "value": []}])
	fixtures.codes(sbom.deny) == {"sbom.lists_packages"} with input as inp
}

test_lists_packages_spdx if {
	spdx := {"statement": {"predicateType": "https://spdx.dev/Document", "predicate": {"spdxVersion": "SPDX-2.3", "packages": [{"name": "zlib"}]}}}
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/1", "value": spdx}])
	count(sbom.deny) == 0 with input as inp
	empty := json.patch(inp, [{"op": "replace", "path": "/attestations/1/statement/predicate/packages", "value": []}])
	fixtures.codes(sbom.deny) == {"sbom.lists_packages"} with input as empty
}

test_lists_packages_null_components if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/1/statement/predicate/components", "value": null}])
	fixtures.codes(sbom.deny) == {"sbom.lists_packages"} with input as inp
}
