package build

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// normalizeHistory rewrites the history comments buildah writes ("FROM
// <name>") so that they name each base image as the Containerfile does.
// buildah takes that name from the names the image has in local storage,
// so a base pulled earlier by tag and now used by digest would otherwise
// change the config, and the digest, of an otherwise identical build.
// rename maps a stored name to the Containerfile's reference. The image
// in the OCI layout at dir is rewritten in place; it reports whether
// anything changed.
func normalizeHistory(dir string, rename map[string]string) (bool, error) {
	if len(rename) == 0 {
		return false, nil
	}
	indexPath := filepath.Join(dir, "index.json")
	var index ispec.Index
	if err := readJSON(indexPath, &index); err != nil {
		return false, err
	}
	if len(index.Manifests) != 1 {
		return false, fmt.Errorf("%s holds %d manifests, want 1", indexPath, len(index.Manifests))
	}
	var m ispec.Manifest
	if err := readJSON(blobPath(dir, index.Manifests[0].Digest), &m); err != nil {
		return false, err
	}
	var cfg ispec.Image
	if err := readJSON(blobPath(dir, m.Config.Digest), &cfg); err != nil {
		return false, err
	}
	changed := false
	for i, h := range cfg.History {
		name, ok := strings.CutPrefix(h.Comment, "FROM ")
		if !ok {
			continue
		}
		if spec, ok := rename[name]; ok && spec != name {
			cfg.History[i].Comment = "FROM " + spec
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	// buildah and containers/image serialize these structures with
	// encoding/json too, so the untouched fields keep their bytes.
	cd, cs, err := writeBlob(dir, &cfg)
	if err != nil {
		return false, err
	}
	m.Config.Digest, m.Config.Size = cd, cs
	md, ms, err := writeBlob(dir, &m)
	if err != nil {
		return false, err
	}
	index.Manifests[0].Digest, index.Manifests[0].Size = md, ms
	b, err := json.Marshal(&index)
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(indexPath, b, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

func blobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeBlob(dir string, v any) (digest.Digest, int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", 0, err
	}
	d := digest.FromBytes(b)
	if err := os.WriteFile(blobPath(dir, d), b, 0o644); err != nil {
		return "", 0, err
	}
	return d, int64(len(b)), nil
}
