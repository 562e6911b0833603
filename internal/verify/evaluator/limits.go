package evaluator

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"time"
)

// ErrLimit is wrapped by the error Evaluate returns when a policy used
// more memory than WithMaxMemory allows, so a hostile or careless rule
// (three nested numbers.range(1, 3000)) ends in an error instead of an
// exhausted machine. Time is bounded by the caller's context.
var ErrLimit = errors.New("policy evaluation exceeded a limit")

// DefaultMaxMemory is the heap size above which an evaluation is stopped.
const DefaultMaxMemory uint64 = 2 << 30

// WithMaxMemory stops an evaluation once the process's live heap exceeds n
// bytes (default DefaultMaxMemory; 0 turns the check off). The heap is the
// process's, not the evaluation's: evaluations running at that moment are
// all stopped, which is what a machine under memory pressure needs.
func WithMaxMemory(n uint64) Option {
	return func(o *options) { o.maxMemory = n; o.maxMemorySet = true }
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// guardMemory samples the heap every few milliseconds while an evaluation
// runs and cancels it, with an ErrLimit cause, when the live heap is over
// max. A sample over max is confirmed after a collection, so garbage left
// by an earlier evaluation does not stop the next one.
func guardMemory(ctx context.Context, max uint64, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if heapBytes() <= max {
					continue
				}
				runtime.GC()
				if h := heapBytes(); h > max {
					cancel(fmt.Errorf("%w: the heap reached %d MiB, over the %d MiB memory limit", ErrLimit, h>>20, max>>20))
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
