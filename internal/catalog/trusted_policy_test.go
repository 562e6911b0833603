package catalog

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/trustline-dev/trustline/policy"
)

// The rule data trusted-tasks writes is what the verify-policy pack's
// trusted_task rules read: a catalog that published the fixture tasks'
// digests makes the fixture provenance pass, and a digest superseded
// longer ago than the grace period fails as "not current".
func TestTrustedTasksReadByPolicy(t *testing.T) {
	ctx := context.Background()
	var opts []func(*rego.Rego)
	err := fs.WalkDir(policy.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		if strings.HasPrefix(p, "release/") && p != "release/trusted_task.rego" {
			return nil
		}
		b, err := fs.ReadFile(policy.FS(), p)
		if err != nil {
			return err
		}
		opts = append(opts, rego.Module(p, string(b)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eval := func(query string, data map[string]any) []any {
		t.Helper()
		r := rego.New(append(opts, rego.Query(query), rego.Store(inmem.NewFromObject(data)))...)
		rs, err := r.Eval(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			t.Fatalf("%s: %d results", query, len(rs))
		}
		return rs[0].Bindings["x"].([]any)
	}
	tasks := []string{"git-clone", "build", "sbom", "scan"}
	var digests []any
	for _, n := range tasks {
		digests = append(digests, eval(`x := [data.lib.fixtures.task_digest("`+n+`")]`, map[string]any{})...)
	}
	build := func(supersededOn string) map[string]any {
		c := &Catalog{Registry: "ghcr.io/trustline-dev"}
		for i, n := range tasks {
			pub := []Publication{{Digest: "sha256:" + digests[i].(string), On: "2024-01-01"}}
			if n == "build" && supersededOn != "" {
				pub[0].SupersededOn = supersededOn
				pub = append(pub, Publication{Digest: "sha256:" + strings.Repeat("9", 64), On: supersededOn})
			}
			c.Tasks = append(c.Tasks, Entry{Name: n, Versions: []Version{{Version: "0.1.3", Published: pub}}})
		}
		rd, err := c.TrustedTasks(DefaultGrace)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for k, list := range rd.TrustedTasks {
			var l []any
			for _, r := range list {
				rec := map[string]any{"ref": r.Ref, "effective_on": r.EffectiveOn}
				if r.ExpiresOn != "" {
					rec["expires_on"] = r.ExpiresOn
				}
				l = append(l, rec)
			}
			m[k] = l
		}
		return map[string]any{"rule_data__configuration__": map[string]any{"trusted_tasks": m}}
	}
	query := `x := [r.code | some r in data.trusted_task.deny] with input as data.lib.fixtures.good_input with time.now_ns as data.lib.fixtures.now`
	if got := eval(query, build("")); len(got) != 0 {
		t.Errorf("published digests not trusted: %v", got)
	}
	// now is 2026-06-01: superseded on 2026-05-15, still in its grace period.
	if got := eval(query, build("2026-05-15")); len(got) != 0 {
		t.Errorf("digest in its grace period not trusted: %v", got)
	}
	// Superseded on 2026-03-01: trusted until 2026-04-30 only.
	got := eval(query, build("2026-03-01"))
	if len(got) != 1 || got[0] != "trusted_task.current" {
		t.Errorf("expired digest: %v", got)
	}
}
