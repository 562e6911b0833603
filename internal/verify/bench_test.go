package verify_test

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/trustline-dev/trustline/internal/verify"
	"github.com/trustline-dev/trustline/internal/verify/fixture"
)

// BenchmarkVerify100 checks 100 signed images, each with provenance, SBOM,
// scan and test attestations, in a registry on 127.0.0.1, with the default
// pack (compiled once per op, as in one run of the step).
func BenchmarkVerify100(b *testing.B) {
	for _, workers := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchVerify(b, 100, workers) })
	}
}

func benchVerify(b *testing.B, n, workers int) {
	e := setupB(b)
	var images []verify.Image
	for i := 0; i < n; i++ {
		im := e.goodImage(fmt.Sprintf("team/app%03d", i))
		im.Packages, im.Seed = 50, int64(i)
		d, err := fixture.Push(context.Background(), im)
		if err != nil {
			b.Fatal(err)
		}
		images = append(images, verify.Image{Name: fmt.Sprint(i), Ref: d.String()})
	}
	pol := e.policy(trusted())
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		v, err := verify.New(context.Background(), pol, e.key, verify.WithWorkers(workers), verify.WithClock(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := v.Verify(context.Background(), images)
		if err != nil {
			b.Fatal(err)
		}
		v.Close()
		if !rep.Success {
			b.Fatalf("bench images do not pass: %+v", rep.Components[0].Violations)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak {
			peak = ms.HeapInuse
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(n), "ms/image")
	// CPU time (verifier and the in-process registry together) is what the
	// run costs on an idle machine; wall time depends on the machine's load.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N)/float64(n), "cpu-ms/image")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-inuse")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
