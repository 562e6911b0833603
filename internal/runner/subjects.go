package runner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// Subjects returns the images a TaskRun's results name, as Chains reads
// its type hints.
func Subjects(results []v1.TaskRunResult, insecure bool) ([]name.Digest, error) {
	vals := map[string]string{}
	for _, r := range results {
		if r.Value.Type == v1.ParamTypeString || r.Value.Type == "" {
			vals[r.Name] = strings.TrimSpace(r.Value.StringVal)
		}
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	seen := map[string]bool{}
	var out []name.Digest
	add := func(ref string) error {
		d, err := name.NewDigest(ref, opts...)
		if err != nil {
			return fmt.Errorf("image %q: %w", ref, err)
		}
		if !seen[d.String()] {
			seen[d.String()] = true
			out = append(out, d)
		}
		return nil
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !strings.HasSuffix(k, "IMAGE_URL") {
			continue
		}
		prefix := strings.TrimSuffix(k, "IMAGE_URL")
		dig, ok := vals[prefix+"IMAGE_DIGEST"]
		if !ok || vals[k] == "" || dig == "" {
			continue
		}
		url := vals[k]
		// IMAGE_URL may carry a tag or a digest of its own; the subject is
		// the repository at IMAGE_DIGEST.
		if i := strings.Index(url, "@"); i >= 0 {
			url = url[:i]
		}
		if ref, err := name.ParseReference(url, opts...); err == nil {
			url = ref.Context().Name()
		}
		if err := add(url + "@" + dig); err != nil {
			return nil, err
		}
	}
	if imgs := vals["IMAGES"]; imgs != "" {
		for _, f := range strings.FieldsFunc(imgs, func(r rune) bool { return r == ',' || r == '\n' }) {
			if f = strings.TrimSpace(f); f != "" {
				if err := add(f); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}
