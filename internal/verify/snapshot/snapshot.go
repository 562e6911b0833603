// Package snapshot reads the images to verify from a Konflux
// ApplicationSnapshot spec: {"components":[{"name","containerImage",
// "source":{"git":{"url","revision"}}}]}, either bare or as the spec of a
// Snapshot resource, in JSON or YAML.
package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/yaml"
)

// Snapshot is an ApplicationSnapshot spec.
type Snapshot struct {
	Application string      `json:"application,omitempty"`
	DisplayName string      `json:"displayName,omitempty"`
	Artifacts   any         `json:"artifacts,omitempty"`
	Components  []Component `json:"components"`
}

// Component is one image of a snapshot.
type Component struct {
	Name           string `json:"name"`
	ContainerImage string `json:"containerImage"`
	Source         Source `json:"source,omitempty"`
}

// Source is where a component was built from.
type Source struct {
	Git *Git `json:"git,omitempty"`
}

// Git names a repository and commit.
type Git struct {
	URL           string `json:"url,omitempty"`
	Revision      string `json:"revision,omitempty"`
	Context       string `json:"context,omitempty"`
	DockerfileURL string `json:"dockerfileUrl,omitempty"`
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid application snapshot")

// Load reads a snapshot from a file; a value that starts with "{" is taken
// as the JSON document itself, as Conforma's --images accepts.
func Load(pathOrJSON string) (*Snapshot, error) {
	if strings.HasPrefix(strings.TrimSpace(pathOrJSON), "{") {
		return Parse([]byte(pathOrJSON))
	}
	b, err := os.ReadFile(pathOrJSON)
	if err != nil {
		return nil, fmt.Errorf("images file %s: %w", pathOrJSON, err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("images file %s: %w", pathOrJSON, err)
	}
	return s, nil
}

// Parse parses and validates a snapshot document.
func Parse(b []byte) (*Snapshot, error) {
	js, err := toJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%w: not YAML or JSON: %v", ErrInvalid, err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || js[0] != '{' {
		return nil, fmt.Errorf("%w: the document must be an object", ErrInvalid)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(js, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if spec, ok := probe["spec"]; ok {
		if k, ok := probe["kind"]; ok && string(k) != `"Snapshot"` {
			return nil, fmt.Errorf("%w: kind %s, want Snapshot", ErrInvalid, k)
		}
		js = spec
	}
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(s.Components) == 0 {
		return nil, fmt.Errorf("%w: components: at least one component is required", ErrInvalid)
	}
	for i, c := range s.Components {
		if c.ContainerImage == "" {
			return nil, fmt.Errorf("%w: components[%d] (%s).containerImage is empty", ErrInvalid, i, c.Name)
		}
		if _, err := name.ParseReference(c.ContainerImage); err != nil {
			return nil, fmt.Errorf("%w: components[%d] (%s).containerImage: %v", ErrInvalid, i, c.Name, err)
		}
	}
	return &s, nil
}

// toJSON returns JSON input as it is (so trailing data is caught) and
// converts YAML.
func toJSON(b []byte) ([]byte, error) {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return t, nil
	}
	if len(t) > 0 && t[0] == '{' {
		var v any
		dec := json.NewDecoder(bytes.NewReader(t))
		if err := dec.Decode(&v); err == nil && dec.More() {
			return nil, errors.New("trailing data after the JSON document")
		}
	}
	return yaml.YAMLToJSON(b)
}
