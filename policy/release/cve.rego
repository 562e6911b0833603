# METADATA
# title: Vulnerabilities
# description: >-
#   No known vulnerability at or above the configured severity, unless a
#   VEX statement says the image is not affected or it is fixed.
package cve

import rego.v1

import data.lib

# METADATA
# title: Scan results are attached
# description: A signed vulnerability scan (https://cosign.sigstore.dev/attestation/vuln/v1) is attached.
# custom:
#   short_name: scan_attached
#   failure_msg: Image %s has no signed vulnerability scan attestation
#   solution: Run the scan task and attach its report with the attest task.
#   collections:
#   - minimal
deny contains result if {
	count(lib.attestations_of({lib.vuln})) == 0
	result := lib.result_helper(rego.metadata.chain(), [input.image.ref])
}

# METADATA
# title: No vulnerability at or above the severity threshold
# description: >-
#   No finding of the scan has a severity at or above the rule data's
#   vulnerability_severity_threshold (default high) unless a VEX statement
#   (CycloneDX analysis, SARIF suppression or an OpenVEX attestation) says
#   not_affected or fixed.
# custom:
#   short_name: below_threshold
#   failure_msg: Vulnerability %s (%s) in %s is at or above the %s threshold and has no VEX statement
#   solution: >-
#     Update the affected package, or publish a VEX statement (not_affected
#     with a justification) and pass it to the scan task.
#   collections:
#   - minimal
deny contains result if {
	threshold := _threshold
	some f in _findings
	_rank[f.severity] >= _rank[threshold]
	not f.id in _vexed
	result := lib.result_helper_with_term(rego.metadata.chain(), [f.id, f.severity, f.package, threshold], f.id)
}

_rank := {"unknown": 0, "none": 0, "low": 1, "medium": 2, "moderate": 2, "high": 3, "important": 3, "critical": 4}

_threshold := t if {
	t := lower(lib.rule_data("vulnerability_severity_threshold"))
	is_string(t)
	_rank[t]
} else := "high"

_reports := [r |
	some att in lib.attestations_of({lib.vuln})
	r := object.get(att.statement.predicate, ["scanner", "result"], {})
]

# CycloneDX vulnerabilities (scan --format cyclonedx).
_findings contains {"id": v.id, "severity": lower(_cdx_severity(v)), "package": concat(",", [a.ref | some a in object.get(v, "affects", [])])} if {
	some r in _reports
	some v in object.get(r, "vulnerabilities", [])
	not _cdx_vex(v)
}

_cdx_severity(v) := s if {
	sevs := [_rank[lower(r.severity)] | some r in object.get(v, "ratings", []); _rank[lower(r.severity)]]
	count(sevs) > 0
	m := max(sevs)
	s := [k | some k, n in _rank; n == m; k in {"unknown", "low", "medium", "high", "critical"}][0]
} else := "unknown"

_cdx_vex(v) if v.analysis.state in {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}

# SARIF results (scan --format sarif): level error=high, warning=medium,
# unless the result or its rule carries a security-severity score or a
# severity property.
_findings contains {"id": res.ruleId, "severity": _sarif_severity(run, res), "package": _sarif_location(res)} if {
	some r in _reports
	some run in object.get(r, "runs", [])
	some res in object.get(run, "results", [])
	count([s | some s in object.get(res, "suppressions", []); object.get(s, "status", "accepted") == "accepted"]) == 0
}

_sarif_severity(run, res) := lower(res.properties.severity) if {
	is_string(res.properties.severity)
} else := _score_severity(to_number(rule.properties["security-severity"])) if {
	some rule in _run_rules(run)
	rule.id == res.ruleId
	rule.properties["security-severity"]
} else := "high" if {
	res.level == "error"
} else := "medium" if {
	res.level == "warning"
} else := "low"

_run_rules(run) := object.get(run, ["tool", "driver", "rules"], [])

_score_severity(s) := "critical" if s >= 9

_score_severity(s) := "high" if {
	s >= 7
	s < 9
}

_score_severity(s) := "medium" if {
	s >= 4
	s < 7
}

_score_severity(s) := "low" if s < 4

_sarif_location(res) := loc if {
	loc := res.locations[0].physicalLocation.artifactLocation.uri
} else := "unknown package"

# OpenVEX attestations and rule data (vex_statements) that clear a finding.
_vexed contains id if {
	some att in lib.attestations_of({lib.openvex})
	some st in object.get(att.statement.predicate, "statements", [])
	st.status in {"not_affected", "fixed"}
	id := _vex_id(st.vulnerability)
}

_vexed contains id if {
	some st in lib.rule_data("vex_statements")
	st.status in {"not_affected", "fixed"}
	id := _vex_id(st.vulnerability)
}

_vex_id(v) := v if is_string(v)

_vex_id(v) := v.name if is_object(v)
