# Rules written for trustline's tests: each denies when the input or a
# Conforma built-in does not answer as Conforma documents it.
package input_checks

import rego.v1

# METADATA
# title: Snapshot
# description: input.snapshot names the application and every component.
# custom:
#   short_name: snapshot
#   collections: [conforma]
deny contains {"code": "input_checks.snapshot", "msg": sprintf("snapshot: %v", [input.snapshot])} if {
	not snapshot_ok
}

snapshot_ok if {
	input.snapshot.application == data.expected.application
	names := {c.name | some c in input.snapshot.components}
	names == {n | some n in data.expected.components}
	is_object(input.snapshot.artifacts)
	some c in input.snapshot.components
	c.name == input.component_name
	is_object(c.source)
}

# METADATA
# title: Component name
# description: input.component_name is the component being checked.
# custom:
#   short_name: component_name
#   collections: [conforma]
deny contains {"code": "input_checks.component_name", "msg": sprintf("component_name %v", [input.component_name])} if {
	not input.component_name in data.expected.components
}

# METADATA
# title: Policy spec
# description: input.policy_spec is the policy applied.
# custom:
#   short_name: policy_spec
#   collections: [conforma]
deny contains {"code": "input_checks.policy_spec", "msg": "policy_spec"} if {
	not input.policy_spec.name == "conforma input test"
}

deny contains {"code": "input_checks.policy_spec", "msg": "policy_spec sources"} if {
	count(input.policy_spec.sources) != 1
}

# METADATA
# title: Bundle files
# description: input.image.files holds an operator bundle's manifests.
# custom:
#   short_name: bundle_files
#   collections: [bundle]
deny contains {"code": "input_checks.bundle_files", "msg": "no ClusterServiceVersion in input.image.files"} if {
	not input.image.files["manifests/csv.yaml"].kind == "ClusterServiceVersion"
}

# METADATA
# title: Bundle CSV name
# description: depends on bundle_files; not reported when that fails.
# custom:
#   short_name: bundle_csv_name
#   collections: [bundle]
#   depends_on: [input_checks.bundle_files]
deny contains {"code": "input_checks.bundle_csv_name", "msg": "the CSV has no name"} if {
	not input.image.files["manifests/csv.yaml"].metadata.name
}
