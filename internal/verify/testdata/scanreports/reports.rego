# Rules written for trustline's tests: they find scan reports the way
# Conforma documents its cve rules finding them. The PipelineRun's
# provenance records each TaskRun; a TaskRun's REPORTS result maps the
# image digest to a report manifest in the image's repository, whose
# application/vnd.redhat.clair-report+json layer is a Clair report.
package scan_reports

import rego.v1

_repo := split(input.image.ref, "@")[0]

_digest := split(input.image.ref, "@")[1]

_reports contains value if {
	some att in input.attestations
	att.statement.predicateType == "https://slsa.dev/provenance/v1"
	some dep in att.statement.predicate.buildDefinition.resolvedDependencies
	dep.name == "pipelineTask"
	task := json.unmarshal(base64.decode(dep.content))
	some result in task.status.results
	result.name == "REPORTS"
	value := json.unmarshal(result.value)
}

_clair_reports contains report if {
	some reports in _reports
	manifest := ec.oci.image_manifest(concat("@", [_repo, reports[_digest]]))
	some layer in manifest.layers
	layer.mediaType == "application/vnd.redhat.clair-report+json"
	report := ec.oci.parsed_blob(concat("@", [_repo, layer.digest]))
}

# METADATA
# title: Scan results found
# custom:
#   short_name: found
deny contains {"code": "scan_reports.found", "msg": "no Clair report found through REPORTS"} if {
	count(_clair_reports) == 0
}

# METADATA
# title: Vulnerability
# custom:
#   short_name: vulnerability
warn contains {"code": "scan_reports.vulnerability", "msg": msg} if {
	some report in _clair_reports
	some vuln in report.vulnerabilities
	level := lower(object.get(vuln, "normalized_severity", "unknown"))
	patched := object.get(vuln, "fixed_in_version", "") != ""
	msg := sprintf("%s %s patched=%v", [vuln.name, level, patched])
}
