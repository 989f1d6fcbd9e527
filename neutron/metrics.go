package neutron

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// APIStats counts what an API did. Safe for concurrent use. A
// df-neutron-server worker process sends its Snapshot to the main process,
// which adds the snapshots of all workers (APISnapshot.Add) and serves the
// sum on /metrics with NewAPICollector.
type APIStats struct {
	mu              sync.Mutex
	requests        map[RequestKey]uint64
	published       atomic.Uint64
	publishFailures atomic.Uint64
}

// RequestKey labels a request count.
type RequestKey struct {
	Resource string `json:"resource"` // networks, subnets, ports, extensions, versions, other
	Method   string `json:"method"`
	Code     int    `json:"code"`
}

// RequestCount is one counted request label set.
type RequestCount struct {
	RequestKey
	Count uint64 `json:"count"`
}

// APISnapshot is a copy of APIStats, JSON-encodable.
type APISnapshot struct {
	Requests []RequestCount `json:"requests,omitempty"`
	// WritesPublished counts NB DB writes whose change was published.
	WritesPublished uint64 `json:"writes_published"`
	// PublishFailures counts NB DB writes whose publish failed
	// (nbapi.ErrNotPublished): the write stands, subscribers see a gap.
	PublishFailures uint64 `json:"publish_failures"`
}

func (s *APIStats) request(k RequestKey) {
	s.mu.Lock()
	if s.requests == nil {
		s.requests = map[RequestKey]uint64{}
	}
	s.requests[k]++
	s.mu.Unlock()
}

// Snapshot copies the counters; Requests are sorted.
func (s *APIStats) Snapshot() APISnapshot {
	s.mu.Lock()
	out := APISnapshot{Requests: make([]RequestCount, 0, len(s.requests))}
	for k, n := range s.requests {
		out.Requests = append(out.Requests, RequestCount{RequestKey: k, Count: n})
	}
	s.mu.Unlock()
	out.WritesPublished = s.published.Load()
	out.PublishFailures = s.publishFailures.Load()
	sortRequests(out.Requests)
	return out
}

// Add returns the sum of two snapshots.
func (a APISnapshot) Add(b APISnapshot) APISnapshot {
	sum := map[RequestKey]uint64{}
	for _, r := range a.Requests {
		sum[r.RequestKey] += r.Count
	}
	for _, r := range b.Requests {
		sum[r.RequestKey] += r.Count
	}
	out := APISnapshot{WritesPublished: a.WritesPublished + b.WritesPublished, PublishFailures: a.PublishFailures + b.PublishFailures}
	for k, n := range sum {
		out.Requests = append(out.Requests, RequestCount{RequestKey: k, Count: n})
	}
	sortRequests(out.Requests)
	return out
}

// TotalRequests is the number of requests counted.
func (a APISnapshot) TotalRequests() uint64 {
	var n uint64
	for _, r := range a.Requests {
		n += r.Count
	}
	return n
}

func sortRequests(rs []RequestCount) {
	slices.SortFunc(rs, func(a, b RequestCount) int {
		switch {
		case a.Resource != b.Resource:
			return cmp.Compare(a.Resource, b.Resource)
		case a.Method != b.Method:
			return cmp.Compare(a.Method, b.Method)
		}
		return cmp.Compare(a.Code, b.Code)
	})
}

var (
	descRequests = prometheus.NewDesc("df_neutron_api_requests_total",
		"REST API requests answered, by resource, method and status code.", []string{"resource", "method", "code"}, nil)
	descPublished = prometheus.NewDesc("df_neutron_writes_published_total",
		"NB DB writes of the REST API whose change was published.", nil, nil)
	descPublishFailures = prometheus.NewDesc("df_neutron_publish_failures_total",
		"NB DB writes of the REST API whose publish failed (the write stands; subscribers see a gap).", nil, nil)
)

// apiCollector exports an APISnapshot source as counters.
type apiCollector struct{ snapshot func() APISnapshot }

// NewAPICollector returns a collector of the counters snapshot returns
// (called on every scrape): df_neutron_api_requests_total{resource,method,
// code}, df_neutron_writes_published_total, df_neutron_publish_failures_total.
func NewAPICollector(snapshot func() APISnapshot) prometheus.Collector {
	return apiCollector{snapshot: snapshot}
}

func (apiCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRequests
	ch <- descPublished
	ch <- descPublishFailures
}

func (c apiCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	for _, r := range s.Requests {
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(r.Count),
			r.Resource, r.Method, strconv.Itoa(r.Code))
	}
	ch <- prometheus.MustNewConstMetric(descPublished, prometheus.CounterValue, float64(s.WritesPublished))
	ch <- prometheus.MustNewConstMetric(descPublishFailures, prometheus.CounterValue, float64(s.PublishFailures))
}
