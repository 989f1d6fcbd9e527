package nbapi

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// maxTopicLabels bounds the topic label's values: tenant topics are
// unbounded, a Prometheus series per tenant is not; topics past the bound
// count as "other".
const maxTopicLabels = 512

// FabricStats summarise what the process's publisher and subscriber did,
// for admin.Status and dfctl status.
type FabricStats struct {
	Published, PublishErrors uint64
	Received, Gaps           uint64
	// Drops are the events this process knows it dropped: its subscriber's
	// queue overflows plus, for a zmq publisher, events dropped on slow
	// subscribers' connections.
	Drops uint64
	// LastGap describes the most recent gap; LastGapAt is when.
	LastGap   string
	LastGapAt time.Time
	// LagMillis is the publish-to-receive latency of the last event
	// received (0 when the sender stamps no publish time).
	LagMillis float64
	// Registered reports whether the process's publisher holds a live
	// registration (false for multiproc and unregistered publishers).
	Registered bool
}

// fabricMetrics instruments the NbApi's publisher and subscriber: every
// process gets the same series, labelled with its role and driver.
type fabricMetrics struct {
	published, received *prometheus.CounterVec // topic
	publishErrors       prometheus.Counter
	gaps                *prometheus.CounterVec // reason
	lost                prometheus.Counter
	uncertain           prometheus.Counter
	latency             prometheus.Histogram
	registered          prometheus.GaugeFunc

	topics       sync.Map // topic label cache
	ntopics      atomic.Int64
	nPub         atomic.Uint64
	nPubErr      atomic.Uint64
	nRecv        atomic.Uint64
	nGaps        atomic.Uint64
	nOverflow    atomic.Uint64
	lagMicros    atomic.Int64
	lastGapMu    sync.Mutex
	lastGap      string
	lastGapAt    time.Time
	registeredFn func() bool
}

func newFabricMetrics(role, driver string, registered func() bool) *fabricMetrics {
	labels := prometheus.Labels{"role": role, "driver": driver}
	m := &fabricMetrics{registeredFn: registered}
	m.published = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "df_events_published_total",
		Help: "Events this process published, by topic (tenant topics past 512 count as \"other\").", ConstLabels: labels},
		[]string{"topic"})
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "df_events_received_total",
		Help: "Events this process's subscriber delivered, by topic.", ConstLabels: labels}, []string{"topic"})
	m.publishErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "df_publish_errors_total",
		Help: "Publish calls that failed (the event counts as lost; subscribers see a gap).", ConstLabels: labels})
	m.gaps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "df_gaps_total",
		Help: "Gaps the subscriber reported, by reason.", ConstLabels: labels}, []string{"reason"})
	m.lost = prometheus.NewCounter(prometheus.CounterOpts{Name: "df_gap_events_lost_total",
		Help: "Events known lost by the reported gaps (when the gap knows how many).", ConstLabels: labels})
	m.uncertain = prometheus.NewCounter(prometheus.CounterOpts{Name: "df_write_uncertain_total",
		Help: "NB DB writes whose outcome was unknown (the NB DB went away during the call); each published " +
			"a resync marker for its topic.", ConstLabels: labels})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "df_event_latency_seconds",
		Help:        "Publish-to-receive latency of delivered events (publisher clock to subscriber clock).",
		ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18)})
	m.registered = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "df_publisher_registered",
		Help: "1 while this process's publisher holds a live registration in the NB DB.", ConstLabels: labels},
		func() float64 {
			if registered() {
				return 1
			}
			return 0
		})
	return m
}

func (m *fabricMetrics) topicLabel(topic string) string {
	if topic == "" {
		topic = model.DefaultTopic
	}
	if _, ok := m.topics.Load(topic); ok {
		return topic
	}
	if m.ntopics.Add(1) > maxTopicLabels {
		return "other"
	}
	m.topics.Store(topic, struct{}{})
	return topic
}

func (m *fabricMetrics) onPublish(topic string, err error) {
	if err != nil {
		m.nPubErr.Add(1)
		m.publishErrors.Inc()
		return
	}
	m.nPub.Add(1)
	m.published.WithLabelValues(m.topicLabel(topic)).Inc()
}

func (m *fabricMetrics) onEvent(ev pubsub.Event) {
	m.nRecv.Add(1)
	m.received.WithLabelValues(m.topicLabel(ev.Update.Topic)).Inc()
	if ts := ev.Meta.PublishTime; ts > 0 {
		lag := time.Since(time.Unix(0, ts))
		if lag < 0 {
			lag = 0 // clocks of two hosts
		}
		m.latency.Observe(lag.Seconds())
		m.lagMicros.Store(lag.Microseconds())
	}
}

func (m *fabricMetrics) onGap(g pubsub.Gap) {
	m.nGaps.Add(1)
	m.gaps.WithLabelValues(string(g.Reason)).Inc()
	if g.Lost > 0 {
		m.lost.Add(float64(g.Lost))
	}
	if g.Reason == pubsub.GapOverflow {
		m.nOverflow.Add(max(g.Lost, 1))
	}
	m.lastGapMu.Lock()
	m.lastGap, m.lastGapAt = g.String(), time.Now()
	m.lastGapMu.Unlock()
}

func (m *fabricMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.published, m.received, m.publishErrors, m.gaps, m.lost, m.uncertain, m.latency, m.registered}
}

// countingPublisher counts what goes through the NbApi's publisher.
type countingPublisher struct {
	pubsub.Publisher
	m *fabricMetrics
}

func (p *countingPublisher) Publish(ctx context.Context, u model.DbUpdate) error {
	err := p.Publisher.Publish(ctx, u)
	if !errors.Is(err, pubsub.ErrClosed) {
		p.m.onPublish(u.TopicOrDefault(), err)
	}
	return err
}

// Unwrap returns the publisher behind the counter (pubsub.Unwrap).
func (p *countingPublisher) Unwrap() pubsub.Publisher { return p.Publisher }

// zmqCollector exposes a zmq publisher's per-peer drops and queue depths
// and a zmq subscriber's reconnects.
type zmqCollector struct {
	a                        *NbApi
	drops, queue, reconnects *prometheus.Desc
	cut                      *prometheus.Desc
}

func newZMQCollector(a *NbApi, role string) *zmqCollector {
	labels := prometheus.Labels{"role": role, "driver": "zmq"}
	return &zmqCollector{a: a,
		drops: prometheus.NewDesc("df_subscriber_drops_total",
			"Events a zmq publisher dropped for one subscriber (its queue was full), by subscriber identity.",
			[]string{"subscriber"}, labels),
		queue: prometheus.NewDesc("df_subscriber_queue_depth",
			"Events queued for one subscriber connection of a zmq publisher.", []string{"subscriber"}, labels),
		cut: prometheus.NewDesc("df_subscribers_cut_total",
			"Subscriber connections a zmq publisher cut for being stuck or silent.", nil, labels),
		reconnects: prometheus.NewDesc("df_reconnects_total",
			"Reconnections of this process's zmq subscriber to its publishers.", nil, labels),
	}
}

func (c *zmqCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.drops
	ch <- c.queue
	ch <- c.cut
	ch <- c.reconnects
}

func (c *zmqCollector) Collect(ch chan<- prometheus.Metric) {
	if p, ok := pubsub.Unwrap(c.a.Publisher()).(*zmq.Publisher); ok {
		st := p.Stats()
		for id, n := range st.DroppedBy {
			ch <- prometheus.MustNewConstMetric(c.drops, prometheus.CounterValue, float64(n), id)
		}
		for _, conn := range st.Conns {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(conn.Queued), conn.Identity)
		}
		ch <- prometheus.MustNewConstMetric(c.cut, prometheus.CounterValue, float64(st.Cut))
	}
	if s, ok := c.a.subscriber().(*zmq.Subscriber); ok {
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(s.Stats().Reconnects))
	}
}

// Collectors are the Prometheus series of the process's pub/sub traffic:
// events published and received per topic (labels role and driver), gaps by
// reason, publish-to-receive latency, registration state, and for zmq the
// drops and queue depth per subscriber and the reconnects. Register them on
// the daemon's admin registry.
func (a *NbApi) Collectors() []prometheus.Collector {
	cs := a.metrics.collectors()
	if a.settings.PubSubDriver == "zmq" {
		cs = append(cs, newZMQCollector(a, string(a.settings.RegisterAs)))
	}
	return cs
}

// FabricStats are the process's pub/sub figures for a status line.
func (a *NbApi) FabricStats() FabricStats {
	m := a.metrics
	st := FabricStats{
		Published: m.nPub.Load(), PublishErrors: m.nPubErr.Load(),
		Received: m.nRecv.Load(), Gaps: m.nGaps.Load(), Drops: m.nOverflow.Load(),
		LagMillis:  float64(m.lagMicros.Load()) / 1000,
		Registered: m.registeredFn(),
	}
	m.lastGapMu.Lock()
	st.LastGap, st.LastGapAt = m.lastGap, m.lastGapAt
	m.lastGapMu.Unlock()
	if p, ok := pubsub.Unwrap(a.Publisher()).(*zmq.Publisher); ok {
		st.Drops += p.Stats().Dropped
	}
	return st
}
