# METADATA
# title: Source
# description: >-
#   The image was built from the repository and commit the application
#   snapshot names.
package source

import rego.v1

import data.lib

# METADATA
# title: Provenance names the snapshot's source
# description: >-
#   When the snapshot gives the component's git url and revision
#   (input.image.source.git), the SLSA provenance records that repository
#   at that commit.
# custom:
#   short_name: matches_snapshot
#   failure_msg: Provenance records source %s but the snapshot says %s@%s
#   solution: >-
#     Promote the image built from the snapshot's commit, or fix the
#     snapshot's source.
#   collections:
#   - minimal
#   - slsa3
#   - pipeline_provenance
deny contains result if {
	want := input.image.source.git
	want.url
	count(lib.provenances) > 0
	not _recorded(want)
	result := lib.result_helper(rego.metadata.chain(), [_found_desc, _norm(want.url), object.get(want, "revision", "")])
}

_recorded(want) if {
	some s in _sources
	s.url == _norm(want.url)
	_rev_matches(s.revision, object.get(want, "revision", ""))
}

_rev_matches(_, "")

_rev_matches(got, want) if {
	want != ""
	got == want
}

_found_desc := "nothing" if count(_sources) == 0

_found_desc := concat(", ", sort([sprintf("%s@%s", [s.url, s.revision]) | some s in _sources])) if count(_sources) > 0

# git+ resolved dependencies (CHAINS-GIT_URL / CHAINS-GIT_COMMIT become
# these), and v0.2 materials.
_sources contains {"url": _norm(dep.uri), "revision": dep.digest.sha1} if {
	some att in lib.provenances_v1
	some dep in att.statement.predicate.buildDefinition.resolvedDependencies
	startswith(dep.uri, "git+")
	dep.digest.sha1
}

_sources contains {"url": _norm(m.uri), "revision": m.digest.sha1} if {
	some att in lib.attestations_of({lib.slsa_provenance_v02})
	some m in object.get(att.statement.predicate, "materials", [])
	startswith(m.uri, "git+")
	m.digest.sha1
}

# _norm makes "git+https://github.com/org/repo.git@ref" and
# "https://github.com/org/repo" compare equal.
_norm(u) := trim_suffix(trim_suffix(lower(split(trim_prefix(u, "git+"), "@")[0]), "/"), ".git")
