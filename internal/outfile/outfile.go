// Package outfile writes output files the one way the whole tree should:
// a regular file (or a path that does not exist yet) is written to a
// temporary file beside it and renamed over it, so a failed or interrupted
// write never leaves half a file and the old content stays intact; anything
// else (a character device such as /dev/null, a FIFO, a socket, a terminal)
// is opened and written in place and never replaced, and "-" is standard
// output. Renaming over /dev/null would turn it into a regular file and
// break every later program on the machine that opens it.
package outfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Stdout is the path that names standard output.
const Stdout = "-"

type options struct {
	perm   fs.FileMode
	stdout io.Writer
	mkdir  bool
	check  func(r io.ReaderAt, size int64) error
}

// Option configures Write and WriteFunc.
type Option func(*options) error

// WithPerm sets the permission bits of a file that is created or replaced.
// The default is 0o644, or the existing file's permission bits when a
// regular file is replaced.
func WithPerm(perm fs.FileMode) Option {
	return func(o *options) error {
		if perm&^fs.ModePerm != 0 {
			return fmt.Errorf("outfile: permission %v has more than permission bits", perm)
		}
		o.perm = perm
		return nil
	}
}

// WithStdout sets where the path "-" writes. The default is os.Stdout.
func WithStdout(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("outfile: nil standard output writer")
		}
		o.stdout = w
		return nil
	}
}

// WithParents creates missing parent directories (mode 0o755) first. The
// default is to fail when the parent directory does not exist.
func WithParents() Option {
	return func(o *options) error {
		o.mkdir = true
		return nil
	}
}

// WithCheck has check read what was written before it replaces the old
// file; when check fails, the old file stays and the error is returned.
// Only a regular file (or a new path) can be checked: with a check, writing
// to anything else is an error. The default is no check.
func WithCheck(check func(r io.ReaderAt, size int64) error) Option {
	return func(o *options) error {
		o.check = check
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{stdout: os.Stdout}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Write writes data to path as the package documentation describes.
func Write(path string, data []byte, opts ...Option) error {
	return WriteFunc(path, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	}, opts...)
}

// WriteFunc writes what write produces to path as the package documentation
// describes. When write (or closing the file) fails, a regular file at path
// keeps its old content and no temporary file is left behind. Errors name
// the path.
func WriteFunc(path string, write func(io.Writer) error, opts ...Option) error {
	o, err := makeOptions(opts)
	if err != nil {
		return err
	}
	if path == Stdout {
		if o.check != nil {
			return errors.New("outfile: standard output cannot be checked before it is written")
		}
		return write(o.stdout)
	}
	if path == "" {
		return errors.New("outfile: empty path")
	}
	if o.mkdir {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
	}
	// Stat follows symbolic links: /dev/stdout and a link to /dev/null are
	// written in place like what they point at.
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A dangling link or a new path: a new regular file.
	case err != nil:
		return err
	case fi.IsDir():
		return &fs.PathError{Op: "write", Path: path, Err: errors.New("is a directory")}
	case !fi.Mode().IsRegular():
		if o.check != nil {
			return &fs.PathError{Op: "write", Path: path, Err: errors.New("not a regular file: what is written there cannot be checked first")}
		}
		return writeInPlace(path, write)
	default:
		if o.perm == 0 {
			o.perm = fi.Mode().Perm()
		}
	}
	if o.perm == 0 {
		o.perm = 0o644
	}
	// Replace the file a symbolic link points at, not the link itself.
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	return writeAndRename(path, o.perm, write, o.check)
}

func writeInPlace(path string, write func(io.Writer) error) error {
	// No O_CREATE and no O_TRUNC: the path exists and is not a regular file;
	// truncation means nothing to a device or a FIFO.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func writeAndRename(path string, perm fs.FileMode, write func(io.Writer) error, check func(io.ReaderAt, int64) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a report or a result must be as
	// readable as a file os.WriteFile would have made.
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if check != nil {
		fi, err := tmp.Stat()
		if err == nil {
			err = check(tmp, fi.Size())
		}
		if err != nil {
			tmp.Close()
			return fmt.Errorf("check %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
