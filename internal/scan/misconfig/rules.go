// Package misconfig checks build and deployment configuration for risky
// settings: Containerfiles (parsed with BuildKit's Dockerfile parser) and
// Tekton and Kubernetes YAML. Every rule has an id, a severity and a help
// text; every finding names its file and line.
package misconfig

import (
	"github.com/trustline-dev/trustline/internal/scan/cvss"
	"github.com/trustline-dev/trustline/internal/scan/finding"
)

// Rules lists every rule, in id order.
var Rules = []finding.Rule{
	{ID: "TL-CF-001", Title: "Base image not pinned by digest", Severity: cvss.Medium,
		Help: "Pin FROM images by digest (image:tag@sha256:...) so a rebuild uses the bytes that were reviewed."},
	{ID: "TL-CF-002", Title: "Base image uses the latest tag", Severity: cvss.Medium,
		Help: "Name an explicit version tag (and a digest) instead of latest or no tag at all."},
	{ID: "TL-CF-003", Title: "Image runs as root", Severity: cvss.High,
		Help: "Add a USER instruction naming a non-root user to the final stage."},
	{ID: "TL-CF-004", Title: "ADD from a remote URL", Severity: cvss.Medium,
		Help: "Download with a checksum check (ADD --checksum=sha256:... or RUN with a verified download) instead of ADD <url>."},
	{ID: "TL-CF-005", Title: "Remote script piped into a shell", Severity: cvss.High,
		Help: "Download the script, verify its checksum or signature, then run it; never curl | sh."},
	{ID: "TL-CF-006", Title: "Secret in ENV or ARG", Severity: cvss.Critical,
		Help: "ENV values and ARG values are stored in the image config and history; use build secrets (RUN --mount=type=secret) instead."},
	{ID: "TL-K8S-001", Title: "Privileged container", Severity: cvss.High,
		Help: "Remove securityContext.privileged: true; grant only the capabilities needed."},
	{ID: "TL-K8S-002", Title: "hostPath volume", Severity: cvss.Medium,
		Help: "Avoid hostPath volumes: they expose the node's filesystem to the workload."},
	{ID: "TL-K8S-003", Title: "Host namespace shared", Severity: cvss.High,
		Help: "Remove hostNetwork, hostPID and hostIPC: they give the pod the node's namespaces."},
	{ID: "TL-K8S-004", Title: "Image referenced by tag", Severity: cvss.Medium,
		Help: "Reference images by digest (image@sha256:...) so what runs is what was verified."},
	{ID: "TL-K8S-005", Title: "Container may run as root or escalate", Severity: cvss.Medium,
		Help: "Set runAsNonRoot: true, a non-zero runAsUser and allowPrivilegeEscalation: false."},
}

func rule(id string) finding.Rule {
	for _, r := range Rules {
		if r.ID == id {
			return r
		}
	}
	panic("misconfig: unknown rule " + id)
}

func newFinding(id, file string, line int, msg string) finding.Misconfiguration {
	r := rule(id)
	return finding.Misconfiguration{RuleID: id, Title: r.Title, Severity: r.Severity, Message: msg, File: file, Line: line}
}
