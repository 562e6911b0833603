# METADATA
# title: Trusted tasks
# description: >-
#   Every Tekton task that ran to build the image is a trusted task: a task
#   bundle whose digest is listed in the trusted_tasks rule data and is
#   still in effect. The rule data has Conforma's shape,
#   {"oci://REPO:TAG": [{"ref": "sha256:...", "effective_on": "...",
#   "expires_on": "..."}]}, as `trustline catalog trusted-tasks` writes it.
package trusted_task

import rego.v1

import data.lib

# METADATA
# title: Trusted task rule data is present
# description: The trusted_tasks rule data is present and well formed.
# custom:
#   short_name: data
#   failure_msg: "Rule data trusted_tasks is missing or malformed: %s"
#   solution: >-
#     Generate it with `trustline catalog trusted-tasks` and pass it as the
#     policy source's ruleData or as a data source.
#   collections:
#   - minimal
#   - slsa3
deny contains result if {
	some problem in _data_problems
	result := lib.result_helper(rego.metadata.chain(), [problem])
}

# METADATA
# title: Tasks are trusted
# description: >-
#   Every task in the provenance comes from a bundle (or git commit) listed
#   in trusted_tasks.
# custom:
#   short_name: trusted
#   failure_msg: Task %s (%s) is not a trusted task
#   solution: >-
#     Use the task bundles published in the trustline catalog, pinned by
#     digest, or add the bundle to trusted_tasks after reviewing it.
#   collections:
#   - minimal
#   - slsa3
deny contains result if {
	count(_data_problems) == 0
	some dep in lib.task_deps
	count(_records_for(dep)) == 0
	name := _name(dep)
	result := lib.result_helper_with_term(rego.metadata.chain(), [name, _ref(dep)], name)
}

# METADATA
# title: Trusted tasks are current
# description: >-
#   A task bundle that is listed in trusted_tasks is also within its
#   effective_on/expires_on window at the effective time.
# custom:
#   short_name: current
#   failure_msg: Task %s (%s) was trusted only until %s; upgrade it to the current version
#   solution: >-
#     Update the pipeline to the newest version of the task (for Konflux users:
#     the MintMaker or Renovate update).
#   collections:
#   - minimal
#   - slsa3
deny contains result if {
	count(_data_problems) == 0
	some dep in lib.task_deps
	records := _records_for(dep)
	count(records) > 0
	not _any_current(records)
	name := _name(dep)
	until := _latest_expiry(records)
	result := lib.result_helper_with_term(rego.metadata.chain(), [name, _ref(dep), until], name)
}

# METADATA
# title: Tasks are referenced by digest
# description: Every task run in the provenance records where its definition came from.
# custom:
#   short_name: pinned
#   failure_msg: Task %s has no recorded source (uri and digest)
#   solution: Reference tasks through the bundles resolver with a digest-pinned bundle.
#   collections:
#   - slsa3
deny contains result if {
	some dep in lib.task_deps
	not _has_source(dep)
	result := lib.result_helper(rego.metadata.chain(), [_name(dep)])
}

_trusted := lib.rule_data("trusted_tasks")

_data_problems contains "trusted_tasks is empty" if {
	is_object(_trusted)
	count(_trusted) == 0
}

_data_problems contains "trusted_tasks must be an object of key to list of records" if {
	not is_object(_trusted)
}

_data_problems contains sprintf("trusted_tasks[%q] must be a list of records", [key]) if {
	is_object(_trusted)
	some key, list in _trusted
	not is_array(list)
}

_data_problems contains sprintf("trusted_tasks[%q][%d] needs a string ref", [key, i]) if {
	is_object(_trusted)
	some key, list in _trusted
	is_array(list)
	some i, rec in list
	not is_string(object.get(rec, "ref", null))
}

_data_problems contains sprintf("trusted_tasks[%q][%d].%s %q is not a date", [key, i, field, v]) if {
	is_object(_trusted)
	some key, list in _trusted
	is_array(list)
	some i, rec in list
	is_object(rec)
	some field in ["effective_on", "expires_on"]
	v := object.get(rec, field, "2022-01-01")
	not _is_date(v)
}

_is_date(v) if {
	is_string(v)
	lib.to_ns(v)
}

_has_source(dep) if {
	dep.uri != ""
	count(object.get(dep, "digest", {})) > 0
}

# Keys are compared in one normal form, as Conforma writes them:
# "oci://REPO:TAG" for bundles. Tekton's bundles resolver records a task's
# refSource uri as the bare repository (no scheme, no tag) and Chains
# copies it into resolvedDependencies, so a uri without a scheme gets
# "oci://", and a digest ("@sha256:...") is never part of a key (it is the
# record's ref).
_norm_key(k) := n if {
	no_digest := split(k, "@")[0]
	n := _with_scheme(no_digest)
}

_with_scheme(k) := k if contains(k, "://")

_with_scheme(k) := concat("", ["oci://", k]) if not contains(k, "://")

# The key without its tag: "oci://repo:tag" -> "oci://repo"; other keys
# (git+https://...) are used as they are.
_key_repo(key) := repo if {
	startswith(key, "oci://")
	parts := split(key, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	repo := substring(key, 0, (count(key) - count(last)) + indexof(last, ":"))
} else := key

# The keys a task run can be listed under: its recorded uri and, when
# Chains recorded the TaskRun, the bundle its taskRef named. When one of
# them keeps the tag ("oci://repo:tag") only tagged keys count, so a
# record for another version of the task does not apply.
_dep_names(dep) := {n |
	some raw in array.concat([object.get(dep, "uri", "")], _bundle_params(dep))
	raw != ""
	n := _norm_key(raw)
}

_dep_keys(dep) := tagged if {
	tagged := {n | some n in _dep_names(dep); _key_repo(n) != n}
	count(tagged) > 0
} else := _dep_names(dep)

_bundle_params(dep) := [p.value |
	some p in object.get(lib.task_run(dep), ["spec", "taskRef", "params"], [])
	p.name == "bundle"
	is_string(p.value)
]

_dep_refs(dep) := {ref |
	some alg, value in object.get(dep, "digest", {})
	some ref in [sprintf("%s:%s", [alg, value]), value]
}

# A record applies when its key (normalised) is one the task run is known
# by: the full "oci://repo:tag" when the tag was recorded, else its
# repository.
_records_for(dep) := [rec |
	keys := _dep_keys(dep)
	some key, list in _trusted
	nk := _norm_key(key)
	_key_matches(nk, keys)
	some rec in list
	rec.ref in _dep_refs(dep)
]

_key_matches(nk, keys) if nk in keys

_key_matches(nk, keys) if _key_repo(nk) in keys

# A record keyed by the repository alone ("oci://repo") trusts its digest
# under any tag: the digest, not the tag, is what is trusted. Without this
# a PipelineRun's provenance, whose pipeline tasks name their bundle with a
# tag, failed where the same task's own TaskRun provenance passed.
_key_matches(nk, keys) if {
	some k in keys
	_key_repo(k) == nk
}

_any_current(records) if {
	some rec in records
	lib.to_ns(object.get(rec, "effective_on", "1970-01-01")) <= lib.now_ns
	_not_expired(rec)
}

_not_expired(rec) if not rec.expires_on

_not_expired(rec) if lib.now_ns < lib.to_ns(rec.expires_on)

_latest_expiry(records) := max([e |
	some rec in records
	e := object.get(rec, "expires_on", "")
])

_name(dep) := n if {
	names := lib.task_names(dep)
	count(names) > 0
	n := concat("/", sort(names))
} else := object.get(dep, "uri", "unknown")

_ref(dep) := sprintf("%s@%s", [object.get(dep, "uri", ""), concat(",", sort([sprintf("%s:%s", [alg, v]) |
	some alg, v in object.get(dep, "digest", {})
]))])
