// Package stepclitest holds what the tests of step commands share.
package stepclitest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that a step's output goroutine (a child
// process's, a server's) may write while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
