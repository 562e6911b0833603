package build

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/trustline-dev/trustline/internal/testregistry"
)

// BenchmarkParsePlan measures the Containerfile pre-pass every build
// makes before buildah parses the file again.
func BenchmarkParsePlan(b *testing.B) {
	var lines []string
	for i := range 20 {
		lines = append(lines, "FROM example.com/base:"+string(rune('a'+i))+" AS s"+string(rune('a'+i)), "RUN make", "COPY --from=sa /x /x")
	}
	lines = append(lines, "FROM scratch", "COPY --from=st /out /out")
	data := []byte(strings.Join(lines, "\n"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePlan("Containerfile", data, nil, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildScratch is one build and push of a FROM scratch image
// with a 4 MiB file, in process, against a registry on 127.0.0.1 (vfs
// storage, reproducible timestamps). Needs root.
func BenchmarkBuildScratch(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("needs root")
	}
	reg := testregistry.Start(b)
	dir := b.TempDir()
	ctxDir := filepath.Join(dir, "ctx")
	must2(b, os.MkdirAll(ctxDir, 0o755))
	blob := make([]byte, 4<<20)
	_, _ = rand.Read(blob)
	must2(b, os.WriteFile(filepath.Join(ctxDir, "blob"), blob, 0o644))
	must2(b, os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte("FROM scratch\nCOPY blob /blob\n"), 0o644))
	opts := []Option{
		WithContextDir(ctxDir),
		WithStorage(Storage{Driver: DriverVFS, Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")}),
		WithSourceDateEpoch(time.Unix(1700000000, 0)),
		WithTempDir(dir),
	}
	b.Cleanup(func() {
		if st, err := openStore(Storage{Driver: DriverVFS, Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")}); err == nil {
			_, _ = st.Shutdown(true)
		}
	})
	tag, err := name.NewTag(reg + "/bench/scratch:v1")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		if _, err := Build(context.Background(), tag, opts...); err != nil {
			b.Fatal(err)
		}
	}
}

func must2(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
