# Fixtures shared by the rule tests: an input in Conforma's shape that
# passes every rule, and the rule data that makes it pass. Each test
# changes one thing and expects one specific violation.
package lib.fixtures

import rego.v1

digest := "sha256:1111111111111111111111111111111111111111111111111111111111111111"

image_ref := sprintf("registry.example/team/app@%s", [digest])

task_run(pipeline_task, task, results) := {
	"metadata": {"labels": {"tekton.dev/pipelineTask": pipeline_task, "tekton.dev/task": task}},
	"spec": {"taskRef": {"resolver": "bundles", "params": [{"name": "name", "value": task}]}},
	"status": {"results": results},
}

# The uri as Tekton's bundles resolver records it in refSource (and
# Chains copies it): the bare repository, no scheme and no tag.
task_dep(pipeline_task, task, results) := {
	"name": "pipelineTask",
	"uri": sprintf("ghcr.io/trustline-dev/task-%s", [task]),
	"digest": {"sha256": task_digest(task)},
	"content": base64.encode(json.marshal(task_run(pipeline_task, task, results))),
}

task_digest(task) := hex if {
	hex := crypto.sha256(task)
}

success_output := "{\"result\":\"SUCCESS\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"note\":\"ok\",\"namespace\":\"default\",\"successes\":3,\"failures\":0,\"warnings\":0}"

provenance_with(deps) := {
	"statement": {
		"_type": "https://in-toto.io/Statement/v1",
		"predicateType": "https://slsa.dev/provenance/v1",
		"subject": [{"name": "registry.example/team/app", "digest": {"sha256": trim_prefix(digest, "sha256:")}}],
		"predicate": {
			"buildDefinition": {
				"buildType": "https://tekton.dev/chains/v2/slsa-tekton",
				"externalParameters": {"runSpec": {}},
				"resolvedDependencies": deps,
			},
			"runDetails": {"builder": {"id": "https://tekton.dev/chains/v2"}},
		},
	},
	"signatures": [{"keyid": "", "sig": "MEUCIQ=="}],
}

good_deps := [
	{"name": "inputs/result", "uri": "git+https://github.com/team/app.git", "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}},
	task_dep("clone", "git-clone", []),
	task_dep("build-container", "build", []),
	task_dep("sbom", "sbom", []),
	task_dep("scan", "scan", [{"name": "TEST_OUTPUT", "value": success_output}]),
]

provenance := provenance_with(good_deps)

sbom := {
	"statement": {
		"_type": "https://in-toto.io/Statement/v1",
		"predicateType": "https://cyclonedx.org/bom",
		"predicate": {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "zlib", "version": "1.3"}]},
	},
	"signatures": [{"keyid": "", "sig": "MEUCIQ=="}],
}

vuln_report(vulns) := {
	"statement": {
		"_type": "https://in-toto.io/Statement/v1",
		"predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
		"predicate": {"scanner": {"uri": "trustline/scan", "result": {"bomFormat": "CycloneDX", "vulnerabilities": vulns}}},
	},
	"signatures": [{"keyid": "", "sig": "MEUCIQ=="}],
}

low_vuln := {"id": "CVE-2026-0001", "ratings": [{"severity": "low"}], "affects": [{"ref": "pkg:generic/zlib@1.3"}]}

attested_tests(result) := {
	"statement": {
		"_type": "https://in-toto.io/Statement/v1",
		"predicateType": "https://in-toto.io/attestation/test-result/v0.1",
		"predicate": {"result": result, "configuration": [{"name": "unit-tests"}], "passedTests": ["a"], "failedTests": []},
	},
	"signatures": [{"keyid": "", "sig": "MEUCIQ=="}],
}

good_input := {
	"image": {
		"ref": image_ref,
		"signatures": [{"keyid": "", "sig": "MEUCIQ=="}],
		"config": {"Labels": {}},
		"parent": {"ref": "quay.io/team/base:9@sha256:2222222222222222222222222222222222222222222222222222222222222222"},
		"source": {"git": {"url": "https://github.com/team/app", "revision": "0123456789abcdef0123456789abcdef01234567"}},
	},
	"attestations": [provenance, sbom, vuln_report([low_vuln]), attested_tests("PASSED")],
}

trusted_tasks := {sprintf("oci://ghcr.io/trustline-dev/task-%s:0.1", [t]): [{"ref": sprintf("sha256:%s", [task_digest(t)]), "effective_on": "2024-01-01T00:00:00Z"}] |
	some t in ["git-clone", "build", "sbom", "scan"]
}

rule_data := {"trusted_tasks": trusted_tasks}

# 2026-06-01T00:00:00Z
now := 1780272000000000000

codes(results) := {r.code | some r in results}
