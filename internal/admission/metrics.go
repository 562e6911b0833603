package admission

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, in a registry of their own
// (no process-wide default registry). Names start with trustline_gate_.
type metrics struct {
	reg            *prometheus.Registry
	reviews        *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	verifyLatency  prometheus.Histogram
	cache          *prometheus.CounterVec
	registryErrors prometheus.Counter
	reloads        *prometheus.CounterVec
	cacheEntries   func() int
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reviews = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trustline_gate_reviews_total", Help: "AdmissionReviews answered, by endpoint, object kind and result (allowed, denied, bad_request).",
	}, []string{"endpoint", "kind", "result"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "trustline_gate_review_duration_seconds", Help: "Time to answer an AdmissionReview, from the request to the response written.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"endpoint"})
	m.verifyLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "trustline_gate_verify_duration_seconds", Help: "Time to verify the uncached digests of one review (signatures, attestations, policy).",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trustline_gate_verdict_cache_total", Help: "Verdict cache lookups by digest, by result (hit, miss).",
	}, []string{"result"})
	m.registryErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "trustline_gate_resolve_errors_total", Help: "Image references that could not be resolved to a digest (registry errors).",
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trustline_gate_policy_loads_total", Help: "Policy loads, by result (ok, error).",
	}, []string{"result"})
	m.reg.MustRegister(m.reviews, m.latency, m.verifyLatency, m.cache, m.registryErrors, m.reloads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "trustline_gate_verdict_cache_entries", Help: "Verdicts in the cache."},
			func() float64 {
				if m.cacheEntries == nil {
					return 0
				}
				return float64(m.cacheEntries())
			}),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
