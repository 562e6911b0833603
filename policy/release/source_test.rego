package source_test

import rego.v1

import data.lib.fixtures
import data.source

test_matches_snapshot_pass if {
	count(source.deny) == 0 with input as fixtures.good_input
}

test_matches_snapshot_other_commit if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/image/source/git/revision", "value": "ffffffffffffffffffffffffffffffffffffffff"}])
	fixtures.codes(source.deny) == {"source.matches_snapshot"} with input as inp
}

test_matches_snapshot_other_repo if {
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/image/source/git/url", "value": "https://github.com/evil/app"}])
	fixtures.codes(source.deny) == {"source.matches_snapshot"} with input as inp
}

test_matches_snapshot_no_source_in_snapshot if {
	inp := json.remove(fixtures.good_input, ["image/source"])
	count(source.deny) == 0 with input as inp
}
