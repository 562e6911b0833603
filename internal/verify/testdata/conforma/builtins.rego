# Rules written for trustline's tests of Conforma's ec.* built-ins, run on
# the image under check.
package builtin_checks

import rego.v1

# METADATA
# title: Signature
# custom:
#   short_name: verify_image
#   collections: [conforma]
deny contains {"code": "builtin_checks.verify_image", "msg": sprintf("%v", [r.errors])} if {
	r := ec.sigstore.verify_image(input.image.ref, data.config.default_sigstore_opts)
	not r.success
}

# METADATA
# title: Provenance attestation
# custom:
#   short_name: verify_attestation
#   collections: [conforma]
deny contains {"code": "builtin_checks.verify_attestation", "msg": "no verified SLSA provenance"} if {
	r := ec.sigstore.verify_attestation(input.image.ref, data.config.default_sigstore_opts)
	types := {a.statement.predicateType | some a in r.attestations}
	not "https://slsa.dev/provenance/v1" in types
}

# METADATA
# title: Descriptor
# custom:
#   short_name: descriptor
#   collections: [conforma]
deny contains {"code": "builtin_checks.descriptor", "msg": "descriptor digest differs"} if {
	not endswith(input.image.ref, ec.oci.descriptor(input.image.ref).digest)
}

# METADATA
# title: Manifest and config
# custom:
#   short_name: manifest
#   collections: [conforma]
deny contains {"code": "builtin_checks.manifest", "msg": "config blob does not parse"} if {
	m := ec.oci.image_manifest(input.image.ref)
	repo := split(input.image.ref, "@")[0]
	not ec.oci.parsed_blob(sprintf("%s@%s", [repo, m.config.digest])).config
}

# METADATA
# title: Signature tag
# custom:
#   short_name: tag_refs
#   collections: [conforma]
deny contains {"code": "builtin_checks.tag_refs", "msg": "no .sig tag"} if {
	not some_sig_tag
}

some_sig_tag if {
	some r in ec.oci.image_tag_refs(input.image.ref)
	endswith(r, ".sig")
}

# METADATA
# title: Package URL
# custom:
#   short_name: purl
#   collections: [conforma]
deny contains {"code": "builtin_checks.purl", "msg": "purl"} if {
	p := ec.purl.parse("pkg:oci/app@sha256%3Aabc?repository_url=quay.io/x")
	not p.qualifiers[0].value == "quay.io/x"
}

# METADATA
# title: Unreachable reference
# description: an undefined built-in fails this rule and no other.
# custom:
#   short_name: unreachable
#   collections: [errors]
deny contains {"code": "builtin_checks.unreachable", "msg": "no descriptor"} if {
	not ec.oci.descriptor(data.expected.missing)
}
