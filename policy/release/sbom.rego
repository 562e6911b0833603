# METADATA
# title: SBOM
# description: A software bill of materials is attached to the image and lists its packages.
package sbom

import rego.v1

import data.lib

# METADATA
# title: SBOM is attached
# description: >-
#   A signed CycloneDX (https://cyclonedx.org/bom) or SPDX
#   (https://spdx.dev/Document) attestation is attached to the image.
# custom:
#   short_name: attached
#   failure_msg: Image %s has no signed CycloneDX or SPDX SBOM attestation
#   solution: Run the sbom task and attach its SBOM with the attest task.
#   collections:
#   - minimal
deny contains result if {
	count(_sboms) == 0
	result := lib.result_helper(rego.metadata.chain(), [input.image.ref])
}

# METADATA
# title: SBOM lists packages
# description: Every attached SBOM lists at least one package or component.
# custom:
#   short_name: lists_packages
#   failure_msg: The %s SBOM attached to the image lists no packages
#   solution: >-
#     Check that the sbom task scanned the image (not an empty directory) and
#     that the image contains package metadata.
#   collections:
#   - minimal
deny contains result if {
	some att in _sboms
	_package_count(att.statement) == 0
	result := lib.result_helper(rego.metadata.chain(), [_format(att.statement)])
}

_sboms := lib.attestations_of({lib.cyclonedx, lib.spdx})

_package_count(st) := _count(object.get(st.predicate, "components", [])) if st.predicateType == lib.cyclonedx

_package_count(st) := _count(object.get(st.predicate, "packages", [])) if st.predicateType == lib.spdx

# null or a non-list counts as no packages.
_count(x) := count(x) if is_array(x)

_count(x) := 0 if not is_array(x)

_format(st) := "CycloneDX" if st.predicateType == lib.cyclonedx

_format(st) := "SPDX" if st.predicateType == lib.spdx
