package admission_test

import (
	"fmt"
	"sort"
	"strings"
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
// docs/benchmarks.md has the command and the figures.
func BenchmarkReview(b *testing.B) {
	e := newEnv(b)
	direct := func(ref string) string { return strings.Replace(ref, e.proxy.Host, e.reg, 1) }
	tag, dig := e.push(b, "warm", true, 1)
	tag, dig = direct(tag), direct(dig)
	_, ts := e.gate(b)
	run := func(b *testing.B, bodies func(i int) []byte) {
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			body := bodies(i)
			start := time.Now()
			r := post(b, ts, "/validate", body)
			lat = append(lat, time.Since(start))
			if !r.Allowed {
				b.Fatal(message(r))
			}
		}
		b.StopTimer()
		report(b, lat)
	}
	for _, c := range []struct{ name, ref string }{{"warm-digest", dig}, {"warm-tag", tag}} {
		body := rv(b, "Deployment", c.ref)
		post(b, ts, "/validate", body) // fills the cache
		b.Run(c.name, func(b *testing.B) { run(b, func(int) []byte { return body }) })
	}
	b.Run("cold", func(b *testing.B) {
		bodies := make([][]byte, b.N)
		for i := range bodies {
			t, _ := e.push(b, fmt.Sprintf("cold%d-%d", b.N, i), true, int64(1000+i))
			bodies[i] = rv(b, "Deployment", direct(t))
		}
		run(b, func(i int) []byte { return bodies[i] })
	})
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
