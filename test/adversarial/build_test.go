package adversarial

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/trustline-dev/trustline/internal/build"
	"github.com/trustline-dev/trustline/internal/build/buildtest"
	"github.com/trustline-dev/trustline/internal/testregistry/faulty"
)

func TestMain(m *testing.M) { buildtest.Main(m) }

// builder builds small FROM scratch images with the build step's library
// into one storage, as root (chroot isolation and its mounts need it).
type builder struct {
	t       *testing.T
	storage build.Storage
}

func newBuilder(t *testing.T) *builder {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the build cases build real images and need root")
	}
	dir := t.TempDir()
	return &builder{t: t, storage: build.Storage{Driver: build.DriverVFS, Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")}}
}

// build writes files (name → content; a value "-> target" is a symbolic
// link) as the context and builds it to image.
func (b *builder) build(ctx context.Context, image string, files map[string]string) (*build.Result, error) {
	b.t.Helper()
	dir := b.t.TempDir()
	for n, c := range files {
		p := filepath.Join(dir, n)
		var err error
		if target, ok := strings.CutPrefix(c, "-> "); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(c), 0o644)
		}
		if err != nil {
			b.t.Fatal(err)
		}
	}
	tag, err := name.NewTag(image)
	if err != nil {
		b.t.Fatal(err)
	}
	return build.Build(ctx, tag, build.WithContextDir(dir), build.WithStorage(b.storage), build.WithTempDir(b.t.TempDir()))
}

// buildCases is the build step's part of defect 6: COPY of a symbolic
// link that leaves the context fails in one line naming the link, and
// nothing is pushed.
func buildCases(t *testing.T, e *env) []row {
	b := newBuilder(t)
	image := e.reg + "/build/symlink:1"
	_, err := b.build(e.ctx, image, map[string]string{
		"Containerfile": "FROM scratch\nCOPY link /x\n",
		"link":          "-> /etc/passwd",
	})
	msg := fmt.Sprint(err)
	r := errRow("defect 6: COPY of a symbolic link out of the context", "build: one line naming link -> /etc/passwd", err,
		strings.Contains(msg, `"link" in the build context is a symbolic link to "/etc/passwd"`) && !strings.Contains(msg, "copier.request") && !strings.Contains(msg, "\n"))
	if _, herr := remote.Head(mustTag(image)); herr == nil {
		r.ok, r.got = false, r.got+" (and the image was pushed)"
	}
	return []row{r}
}

// buildPush builds a small image through the proxy p to the repository
// repo and says whether its tag exists in the registry behind p
// afterwards: a failed build must leave no manifest behind.
func buildPush(ctx context.Context, b *builder, p *faulty.Proxy, upstream, repo string) (err error, tagged bool) {
	_, err = b.build(ctx, p.Host+"/"+repo+":1", map[string]string{
		"Containerfile": "FROM scratch\nCOPY hello /hello\n",
		"hello":         "hello from " + repo + "\n",
	})
	_, herr := remote.Head(mustTag(upstream + "/" + repo + ":1"))
	return err, herr == nil
}
