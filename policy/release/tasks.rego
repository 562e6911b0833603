# METADATA
# title: Required tasks
# description: The build pipeline ran every task the release requires.
package tasks

import rego.v1

import data.lib

# METADATA
# title: Required tasks ran
# description: >-
#   Every task named in the required_tasks rule data ran in the pipeline
#   recorded by the SLSA provenance (matched by task name, pipeline task
#   name or bundle name).
# custom:
#   short_name: required_tasks_ran
#   failure_msg: Required task %q did not run in the build pipeline
#   solution: >-
#     Add the task to the build pipeline; trustline's docker-build pipeline
#     runs git-clone, build, sbom and scan.
#   collections:
#   - minimal
#   - slsa3
#   - pipeline_provenance
deny contains result if {
	count(lib.provenances_v1) > 0
	some required in lib.rule_data("required_tasks")
	not required in lib.all_task_names
	result := lib.result_helper_with_term(rego.metadata.chain(), [required], required)
}
