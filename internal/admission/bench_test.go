package admission_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkReview posts AdmissionReviews of a Deployment (one container
// and one init container running the same signed and attested image)
// over HTTPS on 127.0.0.1 to the gate, which asks a registry on
// 127.0.0.1, and reports the latency percentiles of the whole round trip
// (client to response decoded):
//
//   - warm-digest: the image by digest, verdict cached: no registry request.
//   - warm-tag: the image by tag, verdict cached: one HEAD to resolve the tag.
//   - cold: a different image each review (pushed before the timer), so
//     nothing about it is cached: tag HEAD, manifest, config, .sig, .att
//     and their blobs, and the policy evaluated.
//
// Each runs with one client and with several posting at once (clients=N),
// a bounded load test: b.N reviews in all.
//
// docs/benchmarks.md has the command and the figures.
func BenchmarkReview(b *testing.B) {
	e := newEnv(b)
	direct := func(ref string) string { return strings.Replace(ref, e.proxy.Host, e.reg, 1) }
	tag, dig := e.push(b, "warm", true, 1)
	tag, dig = direct(tag), direct(dig)
	_, ts := e.gate(b)
	warmBody := rv(b, "Deployment", dig)
	post(b, ts, "/validate", warmBody) // the verdict cached
	// run posts b.N reviews from conc clients at once, after opening conc
	// connections (a review of the cached digest each): the API server
	// keeps its webhook connections, so a TLS handshake is not part of a
	// review's latency.
	run := func(b *testing.B, conc int, bodies func(i int) []byte) {
		lat := make([]time.Duration, b.N)
		next := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() { defer wg.Done(); post(b, ts, "/validate", warmBody) }()
		}
		wg.Wait()
		b.ResetTimer()
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					body := bodies(i)
					start := time.Now()
					r := post(b, ts, "/validate", body)
					lat[i] = time.Since(start)
					if !r.Allowed {
						b.Error(message(r))
					}
				}
			}()
		}
		for i := 0; i < b.N; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		b.StopTimer()
		report(b, lat)
	}
	for _, c := range []struct{ name, ref string }{{"warm-digest", dig}, {"warm-tag", tag}} {
		body := rv(b, "Deployment", c.ref)
		post(b, ts, "/validate", body) // fills the cache
		for _, conc := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", c.name, conc), func(b *testing.B) { run(b, conc, func(int) []byte { return body }) })
		}
	}
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("cold/clients=%d", conc), func(b *testing.B) {
			bodies := make([][]byte, b.N)
			for i := range bodies {
				t, _ := e.push(b, fmt.Sprintf("cold%d-%d-%d", conc, b.N, i), true, int64(1000+i))
				bodies[i] = rv(b, "Deployment", direct(t))
			}
			run(b, conc, func(i int) []byte { return bodies[i] })
		})
	}
}

// report adds p50, p99 and max in milliseconds to the benchmark's line.
func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(p*float64(len(lat))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
