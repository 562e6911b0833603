package layerfs

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/testimage"
)

// file is one entry of a crafted layer (testimage.Tar writes them).
type file = testimage.File

// tree lists every path below dir with its type, links with targets.
func tree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s := rel
		if fi.Mode()&os.ModeSymlink != 0 {
			tgt, _ := os.Readlink(p)
			s += " -> " + tgt
		}
		out = append(out, s)
		return nil
	})
	sort.Strings(out)
	return out
}

// sandbox returns root (the extraction target) inside a parent that also
// holds a sentinel file an escaping entry would overwrite, and checks at
// test end that nothing but root appeared in the parent.
func sandbox(t *testing.T) (root, parent string) {
	parent = t.TempDir()
	root = filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "sentinel"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkSandbox(t, parent) })
	return root, parent
}

func checkSandbox(t testing.TB, parent string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "root,sentinel" {
		t.Errorf("extraction wrote outside its root: parent holds %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "sentinel")); string(b) != "keep" {
		t.Errorf("sentinel outside the root was changed to %q", b)
	}
	// Every link below root must resolve inside it.
	rootAbs, _ := filepath.EvalSymlinks(filepath.Join(parent, "root"))
	filepath.Walk(filepath.Join(parent, "root"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if r, err := filepath.EvalSymlinks(p); err == nil && r != rootAbs && !strings.HasPrefix(r, rootAbs+"/") {
				t.Errorf("link %s resolves outside the root, to %s", p, r)
			}
		}
		return nil
	})
}

func TestHostileEntries(t *testing.T) {
	root, parent := sandbox(t)
	sentinel := filepath.Join(parent, "sentinel")
	layer := testimage.Tar(t,
		file{Name: "../../sentinel", Body: "pwned"},                       // traversal
		file{Name: "/abs/file", Body: "abs"},                              // absolute name
		file{Name: "a/../../../b", Body: "b"},                             // traversal mid-path
		file{Name: "escape", Type: tar.TypeSymlink, Linkname: "../../.."}, // escaping relative link
		file{Name: "escape/sentinel", Body: "pwned"},                      // write through it
		file{Name: "abslink", Type: tar.TypeSymlink, Linkname: sentinel},  // absolute link to a host file
		file{Name: "abslink", Body: "pwned"},                              // overwrite through it
		file{Name: "etc", Type: tar.TypeSymlink, Linkname: "/"},
		file{Name: "etc/passwd", Body: "pwned"},
		file{Name: "hard", Type: tar.TypeLink, Linkname: "../../sentinel"}, // hard link out
		file{Name: "hard2", Type: tar.TypeLink, Linkname: "abslink"},       // hard link to a link
		file{Name: "dev/null", Type: tar.TypeChar},
		file{Name: "dev/sda", Type: tar.TypeBlock},
		file{Name: "fifo", Type: tar.TypeFifo},
		file{Name: "ok/file", Body: "fine"},
		file{Name: "ok/link", Type: tar.TypeSymlink, Linkname: "/ok/file"},
	)
	l, err := Extract(bytes.NewReader(layer), root)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "ok", "link")); err != nil || string(b) != "fine" {
		t.Errorf("absolute link inside the image does not resolve inside the root: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "sentinel")); string(b) != "pwned" {
		t.Errorf("../../sentinel was not mapped to /sentinel inside the root")
	}
	for _, p := range []string{"dev/null", "dev/sda", "fifo"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	for _, p := range []string{"/dev/null", "/fifo", "/abs/file", "/b"} {
		if _, ok := l.Entries[p]; !ok {
			t.Errorf("listing lacks %s", p)
		}
	}
	if len(l.Skipped) < 3 {
		t.Errorf("skipped = %v, want the devices and FIFO at least", l.Skipped)
	}
	t.Logf("tree: %v", tree(t, root))
}

func TestWhiteouts(t *testing.T) {
	root, _ := sandbox(t)
	l, err := Extract(bytes.NewReader(testimage.Tar(t,
		file{Name: "usr/lib/.wh.python3"},
		file{Name: "opt/.wh..wh..opq"},
		file{Name: "opt/new", Body: "x"},
		file{Name: "bin", Type: tar.TypeSymlink, Linkname: "usr/bin"},
	)), root)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"/usr/lib/python3":               true,
		"/usr/lib/python3/dist/METADATA": true,
		"/usr/lib/python2/x":             false,
		"/opt/old":                       true,
		"/opt/new":                       true,
		"/bin/sh":                        true, // a directory replaced by a link
		"/etc/os-release":                false,
	} {
		if got := l.Hidden(p); got != want {
			t.Errorf("Hidden(%s) = %v, want %v", p, got, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "usr/lib/.wh.python3")); err == nil {
		t.Error("whiteout marker written as a file")
	}
}

func TestSkipContent(t *testing.T) {
	root, _ := sandbox(t)
	l, err := Extract(bytes.NewReader(testimage.Tar(t, file{Name: "a/x.js", Body: "js"}, file{Name: "a/package.json", Body: "{}"})), root,
		WithSkipContent(func(p string) bool { return strings.HasSuffix(p, ".js") }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "a/x.js")); err == nil {
		t.Error("skipped file was written")
	}
	if _, err := os.Stat(filepath.Join(root, "a/package.json")); err != nil {
		t.Error("kept file missing")
	}
	if _, ok := l.Entries["/a/x.js"]; !ok || l.Omitted != 1 {
		t.Errorf("skipped file not listed (omitted %d)", l.Omitted)
	}
}

// Directories are listed but created only when something is written
// below them: a tree of skipped files costs no mkdir.
func TestDirectoriesCreatedOnDemand(t *testing.T) {
	root, _ := sandbox(t)
	l, err := Extract(bytes.NewReader(testimage.Tar(t,
		file{Name: "src/", Type: tar.TypeDir}, file{Name: "src/lib/", Type: tar.TypeDir}, file{Name: "src/lib/x.js", Body: "js"},
		file{Name: "pkg/", Type: tar.TypeDir}, file{Name: "pkg/deep/", Type: tar.TypeDir}, file{Name: "pkg/deep/package.json", Body: "{}"},
	)), root, WithSkipContent(func(p string) bool { return strings.HasSuffix(p, ".js") }))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "pkg", "pkg/deep", "pkg/deep/package.json"}
	if got := tree(t, root); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tree = %v, want %v", got, want)
	}
	for _, d := range []string{"/src", "/src/lib", "/pkg", "/pkg/deep"} {
		if isDir, ok := l.Entries[d]; !ok || !isDir {
			t.Errorf("%s is not listed as a directory", d)
		}
	}
}

func TestLimits(t *testing.T) {
	root, _ := sandbox(t)
	big := strings.Repeat("x", 2<<20)
	l, err := Extract(bytes.NewReader(testimage.Tar(t, file{Name: "big", Body: big}, file{Name: "small", Body: "s"})), root,
		WithMaxFileSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "big")); err == nil {
		t.Error("file over the size limit was written")
	}
	if _, err := os.Stat(filepath.Join(root, "small")); err != nil {
		t.Error("small file after the big one is missing")
	}
	if _, ok := l.Entries["/big"]; !ok {
		t.Error("skipped file is not listed (it still replaces lower files)")
	}

	root2, _ := sandbox(t)
	_, err = Extract(bytes.NewReader(testimage.Tar(t, file{Name: "a", Body: big}, file{Name: "b", Body: big})), root2,
		WithMaxTotalSize(3<<20))
	if !errors.Is(err, ErrLimit) {
		t.Errorf("total limit: err = %v, want ErrLimit", err)
	}
	root3, _ := sandbox(t)
	_, err = Extract(bytes.NewReader(testimage.Tar(t, file{Name: "a"}, file{Name: "b"}, file{Name: "c"})), root3, WithMaxEntries(2))
	if !errors.Is(err, ErrLimit) {
		t.Errorf("entry limit: err = %v, want ErrLimit", err)
	}
}

// zeros is an endless, allocation-free source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A decompression bomb: a stream that expands to far more than any limit.
// Extract must stop at the limit with memory flat, whatever the stream's
// size.
func TestBombMemoryBounded(t *testing.T) {
	root, _ := sandbox(t)
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		// One 1 TiB file header: the body is never materialised.
		tw.WriteHeader(&tar.Header{Name: "bomb", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644})
		io.Copy(tw, io.LimitReader(zeros{}, 1<<40))
		pw.Close()
	}()
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	_, err := Extract(pr, root, WithMaxTotalSize(1<<30))
	close(stop)
	pr.CloseWithError(errors.New("done"))
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if peak.Load() > 64<<20 {
		t.Errorf("heap peaked at %d MiB", peak.Load()>>20)
	}

	// Many files under the total limit, each under the file limit:
	// written, but the limit on the sum holds.
	root2, _ := sandbox(t)
	pr2, pw2 := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw2)
		for i := 0; ; i++ {
			if tw.WriteHeader(&tar.Header{Name: "f" + string(rune('a'+i%26)), Typeflag: tar.TypeReg, Size: 8 << 20, Mode: 0o644}) != nil {
				break
			}
			if _, err := io.Copy(tw, io.LimitReader(zeros{}, 8<<20)); err != nil {
				break
			}
		}
		pw2.Close()
	}()
	_, err = Extract(pr2, root2, WithMaxTotalSize(64<<20))
	pr2.CloseWithError(errors.New("done"))
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(testimage.Tar(f, file{Name: "a/b", Body: "x"}, file{Name: "l", Type: tar.TypeSymlink, Linkname: "../../x"}, file{Name: "l/y", Body: "y"}))
	f.Add(testimage.Tar(f, file{Name: "../../../etc/passwd", Body: "x"}, file{Name: "h", Type: tar.TypeLink, Linkname: "/etc/passwd"}))
	f.Add(testimage.Tar(f, file{Name: "d/.wh..wh..opq"}, file{Name: "d/.wh.x"}, file{Name: "dev", Type: tar.TypeChar}))
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		root := filepath.Join(parent, "root")
		os.Mkdir(root, 0o755)
		os.WriteFile(filepath.Join(parent, "sentinel"), []byte("keep"), 0o644)
		l, err := Extract(bytes.NewReader(b), root, WithMaxFileSize(1<<20), WithMaxTotalSize(4<<20), WithMaxEntries(1000))
		checkSandbox(t, parent)
		if err == nil {
			for p := range l.Entries {
				if !strings.HasPrefix(p, "/") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
					t.Errorf("listing path %q is not clean and absolute", p)
				}
				l.Hidden(p)
			}
		}
	})
}
