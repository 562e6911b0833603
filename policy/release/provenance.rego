# METADATA
# title: SLSA provenance
# description: The image has SLSA provenance made by a trusted builder.
package provenance

import rego.v1

import data.lib

# METADATA
# title: SLSA provenance is attached
# description: >-
#   A signed SLSA provenance attestation (v1 or v0.2) whose subject is the
#   image is attached to it.
# custom:
#   short_name: attestation_present
#   failure_msg: Image %s has no signed SLSA provenance attestation
#   solution: >-
#     Enable Tekton Chains with the slsa/v2alpha4 format and OCI storage, or
#     attach provenance with the attest task.
#   collections:
#   - minimal
#   - slsa3
deny contains result if {
	count(lib.provenances) == 0
	result := lib.result_helper(rego.metadata.chain(), [input.image.ref])
}

# METADATA
# title: Provenance is from a trusted builder
# description: >-
#   The builder id of every SLSA provenance is one of the rule data's
#   allowed_builder_ids.
# custom:
#   short_name: builder_trusted
#   failure_msg: Provenance builder %q is not one of the allowed builders %v
#   solution: >-
#     Build the image on a trusted Tekton Chains installation, or add its
#     builder id to the allowed_builder_ids rule data.
#   collections:
#   - slsa3
deny contains result if {
	some att in lib.provenances
	id := _builder_id(att.statement)
	allowed := lib.rule_data("allowed_builder_ids")
	not id in allowed
	result := lib.result_helper_with_term(rego.metadata.chain(), [id, allowed], id)
}

_builder_id(st) := id if {
	st.predicateType == lib.slsa_provenance_v1
	id := object.get(st.predicate, ["runDetails", "builder", "id"], "")
}

_builder_id(st) := id if {
	st.predicateType == lib.slsa_provenance_v02
	id := object.get(st.predicate, ["builder", "id"], "")
}
