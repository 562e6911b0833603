# METADATA
# title: Image signature
# description: The image carries a cosign signature made by a trusted key.
package signature

import rego.v1

import data.lib

# METADATA
# title: Image is signed
# description: >-
#   At least one cosign signature over the image's digest verifies with the
#   public key given to verify-policy.
# custom:
#   short_name: image_signed
#   failure_msg: Image %s has no signature that verifies with the trusted public key
#   solution: >-
#     Sign the image with cosign (Tekton Chains does it after the build) using the
#     private key that matches the policy's public key.
#   collections:
#   - minimal
#   - slsa3
deny contains result if {
	not _signed
	result := lib.result_helper(rego.metadata.chain(), [input.image.ref])
}

# A null or missing list is no signature at all.
_signed if {
	some _ in input.image.signatures
}
