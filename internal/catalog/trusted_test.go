package catalog

import (
	"strings"
	"testing"
	"time"
)

func TestTrustedTasks(t *testing.T) {
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	c := &Catalog{Registry: "ghcr.io/acme", Tasks: []Entry{
		{Name: "build", Versions: []Version{{
			Version: "0.1.2", Bundle: "ghcr.io/acme/task-build:0.1@" + d("b"),
			Published: []Publication{
				{Digest: d("a"), On: "2026-01-01", SupersededOn: "2026-03-01"},
				{Digest: d("b"), On: "2026-03-01T10:00:00Z"},
			},
		}}},
		{Name: "old", Versions: []Version{{
			Version: "1.0.0", Deprecated: true, ExpiresOn: "2026-02-01",
			Published: []Publication{
				{Digest: d("c"), On: "2025-01-01", SupersededOn: "2026-01-15"},
				{Digest: d("e"), On: "2026-01-15"},
			},
		}}},
		{Name: "unpublished", Versions: []Version{{Version: "0.1.0"}}},
	}}
	rd, err := c.TrustedTasks(DefaultGrace)
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.TrustedTasks) != 2 {
		t.Fatalf("keys %v", rd.TrustedTasks)
	}
	b := rd.TrustedTasks["oci://ghcr.io/acme/task-build:0.1"]
	if len(b) != 2 || b[0].Ref != d("b") || b[0].ExpiresOn != "" || b[0].EffectiveOn != "2026-03-01T10:00:00Z" {
		t.Errorf("current record %+v", b)
	}
	// Superseded on 1 March + 60 days.
	if b[1].Ref != d("a") || b[1].ExpiresOn != "2026-04-30T00:00:00Z" {
		t.Errorf("superseded record %+v", b[1])
	}
	o := rd.TrustedTasks["oci://ghcr.io/acme/task-old:1.0"]
	// The version's expiry caps both the current and the superseded digest.
	if len(o) != 2 || o[0].ExpiresOn != "2026-02-01T00:00:00Z" || o[1].ExpiresOn != "2026-02-01T00:00:00Z" {
		t.Errorf("deprecated records %+v", o)
	}
	rd, _ = c.TrustedTasks(24 * time.Hour)
	if got := rd.TrustedTasks["oci://ghcr.io/acme/task-build:0.1"][1].ExpiresOn; got != "2026-03-02T00:00:00Z" {
		t.Errorf("grace of a day: %s", got)
	}
	c.Tasks[0].Versions[0].Published[0].On = "yesterday"
	if _, err := c.TrustedTasks(DefaultGrace); err == nil || !strings.Contains(err.Error(), "tasks[build].versions[0.1.2].published[0].on") {
		t.Errorf("bad date: %v", err)
	}
}
