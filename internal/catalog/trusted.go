package catalog

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// DefaultGrace is how long a superseded bundle digest stays trusted after
// a newer digest of the same version replaced it: long enough for users'
// automated updates (Renovate, MintMaker) to land.
const DefaultGrace = 60 * 24 * time.Hour

// TrustedTask is one record of Conforma's trusted_tasks rule data.
type TrustedTask struct {
	Ref         string `json:"ref"`
	EffectiveOn string `json:"effective_on,omitempty"`
	ExpiresOn   string `json:"expires_on,omitempty"`
}

// RuleData is the document `trustline catalog trusted-tasks` writes:
// Conforma's rule data, keyed "oci://REPO:TAG", newest record first.
type RuleData struct {
	TrustedTasks map[string][]TrustedTask `json:"trusted_tasks"`
}

// BundleRepo is where a task or pipeline's bundles are pushed:
// REGISTRY/task-<name> or REGISTRY/pipeline-<name>.
func BundleRepo(registry, kind, name string) string {
	return strings.TrimSuffix(registry, "/") + "/" + kind + "-" + name
}

// BundleTag is the moving tag of a version's bundle: its MAJOR.MINOR, the
// directory it lives in, as Konflux tags task bundles. Each publication is
// also tagged <MAJOR.MINOR>-<commit>, which never moves.
func BundleTag(version string) string {
	if mm, ok := MajorMinor(version); ok {
		return mm
	}
	return version
}

// TrustedTasks builds the rule data from every publication of every task
// version. The current digest of a version is trusted from its
// publication until the version's expires_on (none if unset); a superseded
// digest until its superseded_on plus grace, or the version's expiry if
// that comes first. Pipelines are not tasks and are left out.
func (c *Catalog) TrustedTasks(grace time.Duration) (*RuleData, error) {
	out := &RuleData{TrustedTasks: map[string][]TrustedTask{}}
	for _, e := range c.Tasks {
		for _, v := range e.Versions {
			if len(v.Published) == 0 {
				continue
			}
			repo := BundleRepo(c.Registry, KindTask, e.Name)
			if v.Bundle != "" {
				repo, _, _ = strings.Cut(v.Bundle, "@")
				if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
					repo = repo[:i]
				}
			}
			key := "oci://" + repo + ":" + BundleTag(v.Version)
			var versionExpiry time.Time
			if v.ExpiresOn != "" {
				t, err := ParseDate(v.ExpiresOn)
				if err != nil {
					return nil, fmt.Errorf("tasks[%s].versions[%s].expires_on: %w", e.Name, v.Version, err)
				}
				versionExpiry = t
			}
			for i, p := range v.Published {
				field := fmt.Sprintf("tasks[%s].versions[%s].published[%d]", e.Name, v.Version, i)
				if !strings.HasPrefix(p.Digest, "sha256:") || len(p.Digest) != len("sha256:")+64 {
					return nil, fmt.Errorf("%s.digest: %q is not sha256:<64 hex>", field, p.Digest)
				}
				on, err := ParseDate(p.On)
				if err != nil {
					return nil, fmt.Errorf("%s.on: %w", field, err)
				}
				rec := TrustedTask{Ref: p.Digest, EffectiveOn: formatTime(on)}
				expiry := versionExpiry
				if p.SupersededOn != "" {
					s, err := ParseDate(p.SupersededOn)
					if err != nil {
						return nil, fmt.Errorf("%s.superseded_on: %w", field, err)
					}
					if end := s.Add(grace); expiry.IsZero() || end.Before(expiry) {
						expiry = end
					}
				}
				if !expiry.IsZero() {
					rec.ExpiresOn = formatTime(expiry)
				}
				out.TrustedTasks[key] = append(out.TrustedTasks[key], rec)
			}
		}
	}
	for k, list := range out.TrustedTasks {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].EffectiveOn != list[j].EffectiveOn {
				return list[i].EffectiveOn > list[j].EffectiveOn
			}
			return list[i].Ref < list[j].Ref
		})
		out.TrustedTasks[k] = dedupe(list)
	}
	return out, nil
}

func dedupe(list []TrustedTask) []TrustedTask {
	seen := map[string]bool{}
	var out []TrustedTask
	for _, r := range list {
		if seen[r.Ref] {
			continue
		}
		seen[r.Ref] = true
		out = append(out, r)
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ParseDate reads a catalog date: YYYY-MM-DD (midnight UTC) or RFC 3339.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD or RFC 3339)", s)
	}
	return t, nil
}
