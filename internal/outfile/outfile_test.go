package outfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDevNullStaysACharacterDevice(t *testing.T) {
	before, err := os.Stat(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if before.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("%s is not a character device before the test (%v): the machine is already damaged", os.DevNull, before.Mode())
	}
	if err := Write(os.DevNull, []byte("report\n")); err != nil {
		t.Fatalf("Write(%s): %v", os.DevNull, err)
	}
	after, err := os.Stat(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if after.Mode() != before.Mode() || !os.SameFile(before, after) {
		t.Fatalf("%s changed: %v before, %v after", os.DevNull, before.Mode(), after.Mode())
	}
	if rdev(t, before) != rdev(t, after) {
		t.Fatalf("%s now names another device", os.DevNull)
	}
	// A link to it (as /dev/stdout is) is written through, not replaced.
	link := filepath.Join(t.TempDir(), "null")
	if err := os.Symlink(os.DevNull, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link to %s was replaced: %v %v", os.DevNull, fi.Mode(), err)
	}
}

func rdev(t *testing.T, fi fs.FileInfo) uint64 {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no device numbers on this platform")
	}
	return uint64(st.Rdev)
}

func TestFIFOIsWrittenInPlace(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo) // blocks until the writer opens it
		if err != nil {
			got <- []byte(err.Error())
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	if err := Write(fifo, []byte("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "through the pipe" {
		t.Fatalf("reader got %q", b)
	}
	fi, err := os.Lstat(fifo)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced by %v", fi.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(fifo))
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestRegularFileIsReplacedAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(path)

	// A write that fails half-way leaves the old content and no temp file.
	boom := errors.New("scanner crashed")
	err := WriteFunc(path, func(w io.Writer) error {
		if _, err := w.Write([]byte("half a rep")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v: want the write's error, naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("after a failed write the file holds %q, want the old content", b)
	}
	assertOnly(t, dir, "report.json")

	// A write that succeeds replaces the file (a new inode: readers holding
	// the old one see the old content whole) and keeps its permissions.
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("file holds %q", b)
	}
	if os.SameFile(old, fi) {
		t.Fatal("the file was rewritten in place, not renamed over")
	}
	if fi.Mode() != 0o640 {
		t.Fatalf("mode %v, want the old 0640", fi.Mode())
	}
	assertOnly(t, dir, "report.json")
}

func TestNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "out.json")
	if err := Write(path, []byte("{}")); err == nil {
		t.Fatal("wrote into a missing directory without WithParents")
	}
	if err := Write(path, []byte("{}"), WithParents()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode() != 0o644 {
		t.Fatalf("new file: %v %v, want mode 0644", fi, err)
	}
	key := filepath.Join(dir, "cosign.key")
	if err := Write(key, []byte("secret"), WithPerm(0o600)); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(key); fi.Mode() != 0o600 {
		t.Fatalf("WithPerm(0600) gave %v", fi.Mode())
	}
}

func TestLinkToRegularFileKeepsTheLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target holds %q", b)
	}
}

func TestDashIsStdout(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(Stdout, []byte("to stdout"), WithStdout(&buf)); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "to stdout" {
		t.Fatalf("stdout got %q", buf.String())
	}
	if _, err := os.Lstat("-"); err == nil {
		t.Fatal(`a file named "-" was created`)
	}
}

func TestDirectoryIsAnError(t *testing.T) {
	dir := t.TempDir()
	err := Write(dir, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("writing to a directory: %v, want an error naming it", err)
	}
	if fi, _ := os.Stat(dir); !fi.IsDir() {
		t.Fatal("the directory was replaced")
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

func TestCheckRejectsBeforeReplacing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "all.zip")
	if err := os.WriteFile(path, []byte("good old database"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("not a zip")
	var seen string
	err := Write(path, []byte("garbage"), WithCheck(func(r io.ReaderAt, size int64) error {
		b := make([]byte, size)
		if _, err := r.ReadAt(b, 0); err != nil {
			return err
		}
		seen = string(b)
		return bad
	}))
	if !errors.Is(err, bad) {
		t.Fatalf("error %v, want the check's", err)
	}
	if seen != "garbage" {
		t.Fatalf("the check read %q, want what was written", seen)
	}
	if b, _ := os.ReadFile(path); string(b) != "good old database" {
		t.Fatalf("a failed check replaced the file with %q", b)
	}
	assertOnly(t, dir, "all.zip")
	if err := Write(path, []byte("new"), WithCheck(func(io.ReaderAt, int64) error { return nil })); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("a passed check left %q", b)
	}
	if err := Write(os.DevNull, []byte("x"), WithCheck(func(io.ReaderAt, int64) error { return nil })); err == nil {
		t.Fatal("a check on /dev/null was accepted")
	}
}
