package sbom

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrDigestMismatch is wrapped by the error returned when a layer's bytes
// are not the bytes its manifest (compressed digest, size) or its image
// config (diff_id) name.
var ErrDigestMismatch = errors.New("layer content does not match its digest")

// maxTrailing bounds what is read after the end of a layer's tar archive
// (the zero blocks and any padding) to reach the end of the stream, where
// the digests are checked: a few blocks in practice, a decompression bomb
// in the worst case.
const maxTrailing = 64 << 20

// verifiedLayer is a layer's uncompressed tar stream that hashes, as it is
// read, both the compressed bytes (checked against the manifest's digest
// and size) and the uncompressed bytes (checked against the config's
// diff_id). Nothing read from it may be trusted, cached or reported until
// Verify has returned nil.
type verifiedLayer struct {
	io.Reader // uncompressed bytes, hashed
	digest    v1.Hash
	size      int64
	diffID    v1.Hash
	comp      hash.Hash
	compN     *countingReader
	uncomp    hash.Hash
	closeAll  func() error
}

// openVerified opens l (gzip, zstd or an uncompressed tar) for reading
// through digest checks. gzip goes through klauspost/compress, about twice
// as fast as compress/gzip; its CRC and size trailer are checked at the end
// of the stream, like the digests.
func openVerified(l v1.Layer) (*verifiedLayer, error) {
	digest, err := l.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	size, err := l.Size()
	if err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	diffID, err := l.DiffID()
	if err != nil {
		return nil, fmt.Errorf("diff ID: %w", err)
	}
	if digest.Algorithm != "sha256" || diffID.Algorithm != "sha256" {
		return nil, fmt.Errorf("digest %s / diff ID %s: only sha256 is supported", digest, diffID)
	}
	rc, err := l.Compressed()
	if err != nil {
		// go-containerregistry compares the response's Content-Length
		// with the manifest's size before any byte is read.
		if strings.Contains(err.Error(), "does not match expected size") {
			return nil, fmt.Errorf("%w: %w", ErrDigestMismatch, err)
		}
		return nil, err
	}
	v := &verifiedLayer{digest: digest, size: size, diffID: diffID, comp: sha256.New(), uncomp: sha256.New()}
	// Read at most one byte more than the manifest says, so an endless
	// blob ends as a size mismatch instead of filling the disk.
	v.compN = &countingReader{r: io.TeeReader(io.LimitReader(rc, size+1), v.comp)}
	br := bufio.NewReaderSize(v.compN, 1<<20)
	magic, _ := br.Peek(4)
	var plain io.Reader
	closeDecoder := func() {}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := kgzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(true)
		plain, closeDecoder = zr, func() { zr.Close() }
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		plain, closeDecoder = zr, zr.Close
	default:
		plain = br // an uncompressed tar: diff_id and digest are the same bytes
	}
	v.Reader = io.TeeReader(plain, v.uncomp)
	v.closeAll = func() error { closeDecoder(); return rc.Close() }
	return v, nil
}

// Verify reads what the consumer left (the archive's end blocks, the
// compression trailer) and compares both digests and the size. A corrupt
// compression stream (a gzip CRC error) is an error too.
func (v *verifiedLayer) Verify() error {
	n, err := io.Copy(io.Discard, io.LimitReader(v, maxTrailing+1))
	if err != nil {
		if m := v.CompressedMismatch(); m != nil {
			return m
		}
		return fmt.Errorf("reading to the end of the layer: %w", err)
	}
	if n > maxTrailing {
		return fmt.Errorf("more than %d bytes after the end of the tar archive", maxTrailing)
	}
	if m := v.CompressedMismatch(); m != nil {
		return m
	}
	if got := fmt.Sprintf("sha256:%x", v.uncomp.Sum(nil)); got != v.diffID.String() {
		return fmt.Errorf("%w: the uncompressed layer hashes to %s, the image config's diff_id says %s", ErrDigestMismatch, got, v.diffID)
	}
	return nil
}

// CompressedMismatch reads the rest of the blob, bypassing the
// decompressor, and reports whether its bytes differ from what the
// manifest names. After a read error it tells a tampered blob (the
// registry's or a proxy's doing) from a broken connection.
func (v *verifiedLayer) CompressedMismatch() error {
	io.Copy(io.Discard, v.compN) //nolint:errcheck // recorded in compN.err
	if v.compN.n < v.size && v.compN.err != nil && !errors.Is(v.compN.err, io.EOF) {
		return fmt.Errorf("reading the blob after %d of %d bytes: %w", v.compN.n, v.size, v.compN.err)
	}
	if v.compN.n != v.size {
		return fmt.Errorf("%w: the blob has %s bytes, the manifest says %d", ErrDigestMismatch, countString(v.compN.n, v.size), v.size)
	}
	if got := fmt.Sprintf("sha256:%x", v.comp.Sum(nil)); got != v.digest.String() {
		return fmt.Errorf("%w: the blob's bytes hash to %s, the manifest says %s", ErrDigestMismatch, got, v.digest)
	}
	return nil
}

func (v *verifiedLayer) Close() error { return v.closeAll() }

func countString(n, size int64) string {
	if n > size {
		return "more than " + fmt.Sprint(size)
	}
	return fmt.Sprint(n)
}

type countingReader struct {
	r   io.Reader
	n   int64
	err error // the first error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
