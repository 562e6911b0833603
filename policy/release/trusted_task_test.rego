package trusted_task_test

import rego.v1

import data.lib.fixtures
import data.trusted_task

test_trusted_pass if {
	count(trusted_task.deny) == 0 with input as fixtures.good_input
		with data.rule_data__configuration__ as fixtures.rule_data
		with time.now_ns as fixtures.now
}

test_data_missing if {
	fixtures.codes(trusted_task.deny) == {"trusted_task.data"} with input as fixtures.good_input
		with time.now_ns as fixtures.now
}

test_data_malformed if {
	results := trusted_task.deny with input as fixtures.good_input
		with data.rule_data__configuration__ as {"trusted_tasks": {"oci://x:1": [{"effective_on": "yesterday"}]}}
		with time.now_ns as fixtures.now
	fixtures.codes(results) == {"trusted_task.data"}
	count(results) == 2
}

test_data_not_a_list if {
	fixtures.codes(trusted_task.deny) == {"trusted_task.data"} with input as fixtures.good_input
		with data.rule_data__configuration__ as {"trusted_tasks": {"oci://x:1": "sha256:abc"}}
		with time.now_ns as fixtures.now
}

test_trusted_unknown_task if {
	deps := array.concat(fixtures.good_deps, [fixtures.task_dep("evil", "evil-task", [])])
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(deps)}])
	results := trusted_task.deny with input as inp
		with data.rule_data__configuration__ as fixtures.rule_data
		with time.now_ns as fixtures.now
	fixtures.codes(results) == {"trusted_task.trusted"}
	some r in results
	contains(r.msg, "evil-task")
}

test_trusted_wrong_digest if {
	dep := json.patch(fixtures.task_dep("build-container", "build", []), [{"op": "replace", "path": "/digest/sha256", "value": "ffff"}])
	deps := [d | some d in fixtures.good_deps; d.name != "pipelineTask"]
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(array.concat(deps, [dep]))}])
	fixtures.codes(trusted_task.deny) == {"trusted_task.trusted"} with input as inp
		with data.rule_data__configuration__ as fixtures.rule_data
		with time.now_ns as fixtures.now
}

test_current_expired if {
	tt := json.patch(fixtures.trusted_tasks, [{"op": "add", "path": "/oci:~1~1ghcr.io~1trustline-dev~1task-build:0.1/0/expires_on", "value": "2026-03-01T00:00:00Z"}])
	results := trusted_task.deny with input as fixtures.good_input
		with data.rule_data__configuration__ as {"trusted_tasks": tt}
		with time.now_ns as fixtures.now
	fixtures.codes(results) == {"trusted_task.current"}
	some r in results
	contains(r.msg, "2026-03-01")
}

test_current_not_yet_effective if {
	tt := json.patch(fixtures.trusted_tasks, [{"op": "replace", "path": "/oci:~1~1ghcr.io~1trustline-dev~1task-sbom:0.1/0/effective_on", "value": "2027-01-01"}])
	fixtures.codes(trusted_task.deny) == {"trusted_task.current"} with input as fixtures.good_input
		with data.rule_data__configuration__ as {"trusted_tasks": tt}
		with time.now_ns as fixtures.now
}

test_current_expiry_in_future if {
	tt := json.patch(fixtures.trusted_tasks, [{"op": "add", "path": "/oci:~1~1ghcr.io~1trustline-dev~1task-build:0.1/0/expires_on", "value": "2027-03-01T00:00:00Z"}])
	count(trusted_task.deny) == 0 with input as fixtures.good_input
		with data.rule_data__configuration__ as {"trusted_tasks": tt}
		with time.now_ns as fixtures.now
}

test_pinned_no_source if {
	dep := {"name": "pipelineTask", "content": base64.encode(json.marshal(fixtures.task_run("inline", "inline", [])))}
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(array.concat(fixtures.good_deps, [dep]))}])
	codes := fixtures.codes(trusted_task.deny) with input as inp
		with data.rule_data__configuration__ as fixtures.rule_data
		with time.now_ns as fixtures.now
	codes == {"trusted_task.pinned", "trusted_task.trusted"}
}

test_data_wrong_type if {
	fixtures.codes(trusted_task.deny) == {"trusted_task.data"} with input as fixtures.good_input
		with data.rule_data__configuration__ as {"trusted_tasks": 42}
		with time.now_ns as fixtures.now
}

# Keys are normalised as Conforma writes them: a key without a scheme, or
# with the bundle's digest, still names the same oci://repo:tag.
test_key_without_scheme_or_with_digest if {
	tt := {k: v |
		some key, v in fixtures.trusted_tasks
		k := concat("", [trim_prefix(key, "oci://"), "@", v[0].ref])
	}
	count(trusted_task.deny) == 0 with input as fixtures.good_input
		with data.rule_data__configuration__ as {"trusted_tasks": tt}
		with time.now_ns as fixtures.now
}

# A uri recorded with the oci:// scheme (other Chains versions) matches too.
test_dep_uri_with_scheme if {
	deps := [d |
		some d0 in fixtures.good_deps
		d := _with_uri_prefix(d0, "oci://")
	]
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(deps)}])
	count(trusted_task.deny) == 0 with input as inp
		with data.rule_data__configuration__ as fixtures.rule_data
		with time.now_ns as fixtures.now
}

_with_uri_prefix(d, prefix) := object.union(d, {"uri": concat("", [prefix, d.uri])}) if d.name == "pipelineTask"

_with_uri_prefix(d, _) := d if d.name != "pipelineTask"

# When the TaskRun names its bundle with a tag, only that version's
# records apply: the same digest listed under another version is not
# trusted for it.
test_bundle_tag_must_match if {
	tr := json.patch(fixtures.task_run("build-container", "build", []), [{"op": "add", "path": "/spec/taskRef/params/-", "value": {"name": "bundle", "value": sprintf("ghcr.io/trustline-dev/task-build:0.2@sha256:%s", [fixtures.task_digest("build")])}}])
	dep := object.union(fixtures.task_dep("build-container", "build", []), {"content": base64.encode(json.marshal(tr))})
	deps := [d | some d in fixtures.good_deps; not _is_build(d)]
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(array.concat(deps, [dep]))}])
	results := trusted_task.deny with input as inp
		with data.rule_data__configuration__ as fixtures.rule_data
		with time.now_ns as fixtures.now
	fixtures.codes(results) == {"trusted_task.trusted"}

	tt := object.union(fixtures.trusted_tasks, {"oci://ghcr.io/trustline-dev/task-build:0.2": fixtures.trusted_tasks["oci://ghcr.io/trustline-dev/task-build:0.1"]})
	count(trusted_task.deny) == 0 with input as inp
		with data.rule_data__configuration__ as {"trusted_tasks": tt}
		with time.now_ns as fixtures.now
}

_is_build(d) if d.uri == "ghcr.io/trustline-dev/task-build"

# A record keyed by the bare repository applies to every tag of it, as
# long as the digest is the one listed.
test_untagged_key_applies_to_tagged_bundle if {
	tr := json.patch(fixtures.task_run("build-container", "build", []), [{"op": "add", "path": "/spec/taskRef/params/-", "value": {"name": "bundle", "value": sprintf("ghcr.io/trustline-dev/task-build:0.2@sha256:%s", [fixtures.task_digest("build")])}}])
	dep := object.union(fixtures.task_dep("build-container", "build", []), {"content": base64.encode(json.marshal(tr))})
	deps := [d | some d in fixtures.good_deps; not _is_build(d)]
	inp := json.patch(fixtures.good_input, [{"op": "replace", "path": "/attestations/0", "value": fixtures.provenance_with(array.concat(deps, [dep]))}])
	untagged := object.union(fixtures.trusted_tasks, {"oci://ghcr.io/trustline-dev/task-build": fixtures.trusted_tasks["oci://ghcr.io/trustline-dev/task-build:0.1"]})
	count(trusted_task.deny) == 0 with input as inp
		with data.rule_data__configuration__ as {"trusted_tasks": untagged}
		with time.now_ns as fixtures.now

	# The digest still has to be the listed one.
	wrong := {"oci://ghcr.io/trustline-dev/task-build": [{"ref": "sha256:ffff", "effective_on": "2020-01-01T00:00:00Z"}]}
	others := {k: v | some k, v in fixtures.trusted_tasks; not contains(k, "task-build:")}
	fixtures.codes(trusted_task.deny) == {"trusted_task.trusted"} with input as inp
		with data.rule_data__configuration__ as {"trusted_tasks": object.union(others, wrong)}
		with time.now_ns as fixtures.now
}
