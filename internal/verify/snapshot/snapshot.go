// Package snapshot reads the images to verify from a Konflux
// ApplicationSnapshot spec: {"components":[{"name","containerImage",
// "source":{"git":{"url","revision"}}}]}, either bare or as the spec of a
// Snapshot resource, in JSON or YAML.
package snapshot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/jsondoc"
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
	return jsondoc.Load(pathOrJSON, "images file", Parse)
}

// Parse parses and validates a snapshot document.
func Parse(b []byte) (*Snapshot, error) {
	js, probe, err := jsondoc.Object(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if spec, ok := probe["spec"]; ok {
		if k, ok := probe["kind"]; ok && string(k) != `"Snapshot"` {
			return nil, fmt.Errorf("%w: kind %s, want Snapshot", ErrInvalid, k)
		}
		js = spec
	}
	var s Snapshot
	if err := jsondoc.Strict(js, &s); err != nil {
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
