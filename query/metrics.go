package query

import (
	"regexp"
	"sync"
	"time"

	gqlerrors "github.com/graph-gophers/graphql-go/errors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/ingest/pipeline"
)

// metrics are the server's Prometheus metrics, in a registry of its own.
// A nil *metrics records nothing.
type metrics struct {
	reg      *prometheus.Registry
	latency  *prometheus.HistogramVec
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	ingest   *prometheus.CounterVec

	mu  sync.Mutex
	ops map[string]bool // operation names given a label of their own
}

// maxOperationLabels caps the distinct operation names that get their own
// label value; later ones count as "other", so clients cannot blow up the
// metrics' cardinality.
const maxOperationLabels = 200

var operationLabelRE = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]{0,63}$`)

func newMetrics(store *graph.Store) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), ops: map[string]bool{}}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "verband_graphql_request_duration_seconds",
		Help:    "Time to answer a GraphQL request, by operation name.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"operation"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "verband_graphql_requests_total",
		Help: "GraphQL requests, by operation name and status (ok or error).",
	}, []string{"operation", "status"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "verband_graphql_errors_total",
		Help: "GraphQL errors returned, by extensions.code.",
	}, []string{"code"})
	m.ingest = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "verband_ingest_objects_total",
		Help: "Objects ingested through the API, by outcome (created, updated, unchanged, older, rejected).",
	}, []string{"outcome"})
	m.reg.MustRegister(m.latency, m.requests, m.errors, m.ingest, newIndexCollector(store),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, o := range []string{"created", "updated", "unchanged", "older", "rejected"} {
		m.ingest.WithLabelValues(o)
	}
	return m
}

// indexCollector exports the search index's figures from one read of
// graph.Store.IndexStatus per scrape: a gauge function per figure would read
// it once for each (bleve's document count and segments included).
type indexCollector struct {
	store               *graph.Store
	lag, docs, segments *prometheus.Desc
}

func newIndexCollector(store *graph.Store) *indexCollector {
	return &indexCollector{store: store,
		lag:  prometheus.NewDesc("verband_search_index_lag", "Commits not yet searchable.", nil, nil),
		docs: prometheus.NewDesc("verband_search_index_documents", "Documents in the search index.", nil, nil),
		segments: prometheus.NewDesc("verband_search_index_segments",
			"Segments of the search index; the mutation optimizeSearchIndex merges them into one per shard.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *indexCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.docs
	ch <- c.segments
}

// Collect implements prometheus.Collector.
func (c *indexCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.IndexStatus()
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(st.Lag))
	ch <- prometheus.MustNewConstMetric(c.docs, prometheus.GaugeValue, float64(st.Docs))
	ch <- prometheus.MustNewConstMetric(c.segments, prometheus.GaugeValue, float64(st.Segments))
}

// opLabel returns the label value of an operation name.
func (m *metrics) opLabel(op string) string {
	if op == "" {
		return "anonymous"
	}
	if !operationLabelRE.MatchString(op) {
		return "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ops[op] {
		return op
	}
	if len(m.ops) >= maxOperationLabels {
		return "other"
	}
	m.ops[op] = true
	return op
}

// request counts one GraphQL request.
func (m *metrics) request(op, status string, codes []string, errs []*gqlerrors.QueryError, d time.Duration) {
	if m == nil {
		return
	}
	l := m.opLabel(op)
	m.latency.WithLabelValues(l).Observe(d.Seconds())
	m.requests.WithLabelValues(l, status).Inc()
	for _, e := range errs {
		if c, ok := e.Extensions["code"].(string); ok {
			m.errors.WithLabelValues(c).Inc()
		}
	}
}

// ingested counts what an ingest did.
func (m *metrics) ingested(st pipeline.Stats) {
	if m == nil {
		return
	}
	m.ingest.WithLabelValues("created").Add(float64(st.Created))
	m.ingest.WithLabelValues("updated").Add(float64(st.Updated))
	m.ingest.WithLabelValues("unchanged").Add(float64(st.Unchanged))
	m.ingest.WithLabelValues("older").Add(float64(st.Older))
	m.ingest.WithLabelValues("rejected").Add(float64(st.Rejected))
}
