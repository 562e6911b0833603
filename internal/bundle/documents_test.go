package bundle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/testregistry"
)

// Documents parses what keep accepts, names each document after the
// reference the caller gave, and refuses a digest other than the one the
// reference names; RefSource records the repository, digest and entry.
func TestDocuments(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.Start(t)
	tag, _ := name.ParseReference(reg + "/docs:1")
	pushed, err := Push(ctx, testFiles, tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, digest, err := Documents(ctx, "the-arg", tag, nil, nil)
	if err != nil || len(docs) != 3 || digest != pushed.Digest {
		t.Fatalf("Documents = %d docs, %v, %v", len(docs), digest, err)
	}
	tasks, _, err := Documents(ctx, "the-arg", pushed.Digest, nil, func(r Resource) bool { return r.Kind == "task" })
	if err != nil || len(tasks) != 1 || tasks[0].Name != "hello" || !strings.HasPrefix(tasks[0].File, "the-arg#") {
		t.Fatalf("Documents(tasks) = %+v, %v", tasks, err)
	}
	other := pushed.Digest.Context().Digest("sha256:" + strings.Repeat("0", 64))
	if _, _, err := Documents(ctx, "the-arg", other, nil, nil); err == nil {
		t.Error("a digest the registry does not hold was read")
	}
	src := RefSource(digest, "hello")
	if src.URI != reg+"/docs" || src.Digest["sha256"] != strings.TrimPrefix(digest.DigestStr(), "sha256:") || src.EntryPoint != "hello" {
		t.Errorf("RefSource = %+v", src)
	}
}

// Created follows tkn: --ctime, else SOURCE_DATE_EPOCH, else the epoch.
func TestCreated(t *testing.T) {
	for _, tc := range []struct {
		ctime, epoch string
		want         time.Time
	}{
		{"", "", time.Unix(0, 0)},
		{"", "1700000000", time.Unix(1700000000, 0)},
		{"2026-01-02", "1700000000", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"2026-01-02T03:04:05Z", "", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	} {
		if got, err := Created(tc.ctime, tc.epoch); err != nil || !got.Equal(tc.want) {
			t.Errorf("Created(%q, %q) = %v, %v; want %v", tc.ctime, tc.epoch, got, err, tc.want)
		}
	}
	for _, bad := range [][2]string{{"", "-1"}, {"", "soon"}, {"yesterday", ""}} {
		if _, err := Created(bad[0], bad[1]); err == nil {
			t.Errorf("Created(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestObject(t *testing.T) {
	if got := string(Resource{Raw: []byte(`{"kind":"Task"}`)}.Object()); got != `{"kind":"Task"}` {
		t.Errorf("JSON resource: %s", got)
	}
	if got := string(Resource{Raw: []byte("kind: Task\n")}.Object()); got != `"kind: Task\n"` {
		t.Errorf("YAML resource: %s", got)
	}
}
