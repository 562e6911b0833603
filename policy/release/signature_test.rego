package signature_test

import rego.v1

import data.lib.fixtures
import data.signature

test_image_signed_pass if {
	count(signature.deny) == 0 with input as fixtures.good_input
}

test_image_signed_no_signature if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/image/signatures", "value": []}])
	fixtures.codes(signature.deny) == {"signature.image_signed"} with input as inp
}

test_image_signed_field_missing if {
	inp := json.remove(fixtures.good_input, ["image/signatures"])
	fixtures.codes(signature.deny) == {"signature.image_signed"} with input as inp
}

test_image_signed_null if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/image/signatures", "value": null}])
	fixtures.codes(signature.deny) == {"signature.image_signed"} with input as inp
}
