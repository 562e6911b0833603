package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustline-dev/trustline/internal/tekton"
)

// treeOf copies the corpus fixtures and the repository's own tasks and
// pipelines into n files, the size of a large catalog checkout.
func treeOf(tb testing.TB, n int) string {
	tb.Helper()
	var sources []string
	for _, pattern := range []string{"testdata/corpus/*.yaml", "../../tasks/*/*/*.yaml", "../../pipelines/*/*/*.yaml"} {
		m, _ := filepath.Glob(pattern)
		sources = append(sources, m...)
	}
	if len(sources) == 0 {
		tb.Fatal("no sources")
	}
	dir := tb.TempDir()
	for i := 0; i < n; i++ {
		b, err := os.ReadFile(sources[i%len(sources)])
		if err != nil {
			tb.Fatal(err)
		}
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%40))
		os.MkdirAll(sub, 0o755)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.yaml", i)), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// BenchmarkTree475 is one whole-tree run over 475 files, as
// `trustline validate --tekton-only DIR` does it (and with conventions).
func BenchmarkTree475(b *testing.B) {
	dir := treeOf(b, 475)
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"tekton-only", []Option{TektonOnly()}}, {"conventions", nil}} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := Paths(context.Background(), []string{dir}, mode.opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A file over the limit is an error naming it and the limit, found
// without reading the file whole.
func TestFileOverTheLimit(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	line := "- " + strings.Repeat("x", 1021) + "\n"
	for written := 0; written < 50<<20; written += len(line) {
		f.WriteString(line)
	}
	f.Close()
	_, err = Paths(context.Background(), []string{dir})
	var tl *tekton.TooLargeError
	if !errors.As(err, &tl) || tl.File != big || tl.Limit != tekton.DefaultMaxFileSize {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "8 MiB") {
		t.Errorf("message names neither file nor limit: %v", err)
	}
	if _, err := Paths(context.Background(), []string{big}, WithMaxFileSize(1<<10)); !errors.As(err, &tl) || tl.Limit != 1<<10 {
		t.Errorf("WithMaxFileSize: %v", err)
	}
}
