package misconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/trustline-dev/trustline/internal/scan/finding"
	"github.com/trustline-dev/trustline/internal/tekton/yamldoc"
)

// CheckYAML checks the Kubernetes and Tekton documents in one YAML file.
// Documents without apiVersion and kind are not Kubernetes objects and
// are left alone.
func CheckYAML(name string, data []byte) ([]finding.Misconfiguration, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []finding.Misconfiguration
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("yaml %s: %w", name, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode || yamldoc.MapValue(root, "apiVersion") == nil || yamldoc.MapValue(root, "kind") == nil {
			continue
		}
		kind := yamldoc.MapValue(root, "kind").Value
		out = append(out, walk(name, kind, root)...)
	}
	return out, nil
}

func isTrue(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
}

func walk(file, kind string, n *yaml.Node) []finding.Misconfiguration {
	var out []finding.Misconfiguration
	switch n.Kind {
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			out = append(out, walk(file, kind, c)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			line := k.Line
			switch k.Value {
			case "privileged":
				if isTrue(v) {
					out = append(out, newFinding("TL-K8S-001", file, line, fmt.Sprintf("%s:%d: %s runs a privileged container", file, line, kind)))
				}
			case "hostPath":
				if v.Kind == yaml.MappingNode {
					p := ""
					if x := yamldoc.MapValue(v, "path"); x != nil {
						p = " " + x.Value
					}
					out = append(out, newFinding("TL-K8S-002", file, line, fmt.Sprintf("%s:%d: %s mounts hostPath%s", file, line, kind, p)))
				}
			case "hostNetwork", "hostPID", "hostIPC":
				if isTrue(v) {
					out = append(out, newFinding("TL-K8S-003", file, line, fmt.Sprintf("%s:%d: %s sets %s: true", file, line, kind, k.Value)))
				}
			case "image":
				if v.Kind == yaml.ScalarNode && v.Value != "" && !strings.Contains(v.Value, "@sha256:") && !strings.Contains(v.Value, "$(") {
					out = append(out, newFinding("TL-K8S-004", file, line, fmt.Sprintf("%s:%d: image %s is referenced by tag, not digest", file, line, v.Value)))
				}
			case "runAsUser":
				if v.Kind == yaml.ScalarNode && v.Value == "0" {
					out = append(out, newFinding("TL-K8S-005", file, line, fmt.Sprintf("%s:%d: %s sets runAsUser: 0 (root)", file, line, kind)))
				}
			case "runAsNonRoot":
				if v.Kind == yaml.ScalarNode && v.Value == "false" {
					out = append(out, newFinding("TL-K8S-005", file, line, fmt.Sprintf("%s:%d: %s sets runAsNonRoot: false", file, line, kind)))
				}
			case "allowPrivilegeEscalation":
				if isTrue(v) {
					out = append(out, newFinding("TL-K8S-005", file, line, fmt.Sprintf("%s:%d: %s sets allowPrivilegeEscalation: true", file, line, kind)))
				}
			}
			out = append(out, walk(file, kind, v)...)
		}
	}
	return out
}
