# METADATA
# title: Base image
# description: The image was built on a base image from an allowed registry.
package base_image

import rego.v1

import data.lib

# METADATA
# title: Base image comes from an allowed registry
# description: >-
#   The base image, named by the image's org.opencontainers.image.base.name
#   annotation (input.image.parent) or marked as the base image in the
#   CycloneDX SBOM, starts with one of the allowed_registry_prefixes rule
#   data entries.
# custom:
#   short_name: allowed_registry
#   failure_msg: Base image %q is not from an allowed registry %v
#   solution: >-
#     Build FROM an image in an allowed registry, or add the registry to the
#     allowed_registry_prefixes rule data.
#   collections:
#   - minimal
deny contains result if {
	some ref in _base_images
	allowed := lib.rule_data("allowed_registry_prefixes")
	not _allowed(ref, allowed)
	result := lib.result_helper_with_term(rego.metadata.chain(), [ref, allowed], ref)
}

_allowed(ref, allowed) if {
	some prefix in allowed
	startswith(ref, prefix)
}

_base_images contains ref if {
	ref := input.image.parent.ref
	is_string(ref)
	ref != ""
}

# Konflux marks base images in the SBOM's formulation with this property.
_base_images contains ref if {
	some att in lib.attestations_of({lib.cyclonedx})
	some f in object.get(att.statement.predicate, "formulation", [])
	some c in object.get(f, "components", [])
	some p in object.get(c, "properties", [])
	p.name == "konflux:container:is_base_image"
	ref := _component_ref(c)
}

_component_ref(c) := c.name if not c.version

_component_ref(c) := sprintf("%s:%s", [c.name, c.version]) if c.version
