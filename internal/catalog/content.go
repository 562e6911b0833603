package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"
)

var (
	// digestPin matches an image or bundle pinned by digest inside a string.
	digestPin = regexp.MustCompile(`@sha256:[0-9a-f]{64}`)
	// libraryPin matches this library's own step images and bundles, whose
	// registry changes when the library is published elsewhere.
	libraryPin = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._:/-]*/((?:step|task|pipeline)-[a-z0-9][a-z0-9-]*(?::[0-9]+\.[0-9]+)?)@sha256:[0-9a-f]{64}`)
)

// ContentDigest identifies what a task or pipeline version says, so that a
// change without a new version can be caught. It hashes the document's
// canonical JSON form (so comments, key order and formatting do not
// count) with every "@sha256:<hex>" pin blanked out, and the registry of
// the library's own step-*, task-* and pipeline-* references too:
// re-pinning step images or task bundles, or publishing to another
// registry, is a rebuild that trustline catalog publish does within a
// version (policy trusts the old digest for a grace period), whereas any
// other change to the YAML is a change users must be told about in a new
// version and its CHANGELOG entry.
func ContentDigest(yamlDoc []byte) (string, error) {
	var v any
	if err := yaml.Unmarshal(yamlDoc, &v); err != nil {
		return "", fmt.Errorf("content digest: %w", err)
	}
	v = blankPins(v)
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		return "", fmt.Errorf("content digest: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func blankPins(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = blankPins(e)
		}
	case []any:
		for i, e := range x {
			x[i] = blankPins(e)
		}
	case string:
		x = libraryPin.ReplaceAllString(x, "$1@pinned")
		return digestPin.ReplaceAllString(x, "@sha256:pinned")
	}
	return v
}
