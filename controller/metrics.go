package controller

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dragonflow-go/dragonflow/model"
)

// counters are the controller's figures for /status and Stats.
type counters struct {
	eventsIn, applied, ignored, eventsOut atomic.Uint64
	gaps, resyncs, resyncErrors           atomic.Uint64
	portStatusSent, noListener            atomic.Uint64
	publishErrors                         atomic.Uint64
	topicsRegistered, topicsUnregistered  atomic.Uint64
}

// Stats are the controller's counters since New.
type Stats struct {
	// EventsIn counts delivered events; Applied those that changed the
	// cache; Ignored the others (stale, unknown table, update, control...).
	EventsIn, Applied, Ignored uint64
	// EventsOut counts what the controller published: port status, active
	// port and chassis writes.
	EventsOut uint64
	// Gaps counts reported gaps; Resyncs finished topic resyncs;
	// ResyncErrors failed ones (retried).
	Gaps, Resyncs, ResyncErrors uint64
	// ResyncsQueued is the number of topics waiting for a resync;
	// ResyncsCoalesced counts requests folded into a queued one.
	ResyncsQueued    int
	ResyncsCoalesced uint64
	// PortStatusSent counts port status events published to a listener;
	// NoListener the reports that found no live listener.
	PortStatusSent, NoListener uint64
	// PublishErrors counts writes that were not published.
	PublishErrors uint64
	// TopicsRegistered and TopicsUnregistered count tenant topic
	// (un)subscriptions of selective topology.
	TopicsRegistered, TopicsUnregistered uint64
}

// Stats returns the counters.
func (c *Controller) Stats() Stats {
	q, coalesced := c.queue.pending()
	return Stats{
		EventsIn: c.st.eventsIn.Load(), Applied: c.st.applied.Load(), Ignored: c.st.ignored.Load(),
		EventsOut: c.st.eventsOut.Load(), Gaps: c.st.gaps.Load(), Resyncs: c.st.resyncs.Load(),
		ResyncErrors: c.st.resyncErrors.Load(), ResyncsQueued: q, ResyncsCoalesced: coalesced,
		PortStatusSent: c.st.portStatusSent.Load(), NoListener: c.st.noListener.Load(),
		PublishErrors:    c.st.publishErrors.Load(),
		TopicsRegistered: c.st.topicsRegistered.Load(), TopicsUnregistered: c.st.topicsUnregistered.Load(),
	}
}

// metrics are the controller's Prometheus series, on the admin endpoint's
// own registry.
type metrics struct {
	received     *prometheus.CounterVec // table, action
	ignored      *prometheus.CounterVec // outcome
	gaps         *prometheus.CounterVec // reason
	resyncs      *prometheus.CounterVec // reason
	resyncErrors prometheus.Counter
	portStatus   *prometheus.CounterVec // status
	noListener   prometheus.Counter
	activePort   *prometheus.CounterVec // action
	control      *prometheus.CounterVec // action, verdict
	collectors   []prometheus.Collector
}

const ns = "df_controller"

func newMetrics(c *Controller) *metrics {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_received_total",
			Help: "Events delivered by the subscriber, by table and action (unknown ones as \"other\")."}, []string{"table", "action"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_ignored_total",
			Help: "Delivered events that did not change the cache, by outcome."}, []string{"outcome"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "gaps_total",
			Help: "Gaps reported by the subscriber, by reason."}, []string{"reason"}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "resyncs_total",
			Help: "Finished topic resyncs, by reason."}, []string{"reason"}),
		resyncErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "resync_errors_total",
			Help: "Topic resyncs that failed to list the NB DB (retried)."}),
		portStatus: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "port_status_sent_total",
			Help: "Port status events published to a neutron-server listener, by status."}, []string{"status"}),
		noListener: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "port_status_no_listener_total",
			Help: "Port status reports that found no live listener (written to the NB DB only)."}),
		activePort: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "activeport_writes_total",
			Help: "Active port rows written and published, by action."}, []string{"action"}),
		control: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "control_actions_total",
			Help: "Control actions (sync, reinitialize, dbrestart) received from the wire, by action and verdict " +
				"(obeyed, unauthenticated, unknown-publisher, wrong-role, rate-limited)."}, []string{"action", "verdict"}),
	}
	cacheDesc := prometheus.NewDesc(ns+"_cache_objects", "Objects in the local cache, by table.", []string{"table"}, nil)
	m.collectors = []prometheus.Collector{
		m.received, m.ignored, m.gaps, m.resyncs, m.resyncErrors, m.portStatus, m.noListener, m.activePort, m.control,
		collectorFunc{desc: cacheDesc, collect: func(ch chan<- prometheus.Metric) {
			sizes := c.cache.sizes()
			for _, t := range model.Tables() {
				ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.GaugeValue, float64(sizes[t]), t)
			}
		}},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "subscribed_topics",
			Help: "Topics the subscriber is registered to (\"D\" plus tenant topics)."},
			func() float64 { return float64(len(c.cache.topicList())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "local_ports",
			Help: "Ports the port source reported up on this host."},
			func() float64 { return float64(len(c.LocalPorts())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "ready",
			Help: "1 once the first full sync has finished."},
			func() float64 {
				if c.Ready() {
					return 1
				}
				return 0
			}),
	}
	return m
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, col := range m.collectors {
		if err := r.Register(col); err != nil {
			return fmt.Errorf("controller: register metrics: %w", err)
		}
	}
	return nil
}

// collectorFunc is a collector of one described metric family.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (f collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

// tableLabel bounds the table label to the known tables (and df_resync).
func tableLabel(t string) string {
	if _, ok := model.NewByTable(t); ok || t == "df_resync" {
		return t
	}
	return "other"
}

// actionLabel bounds the action label to the known actions.
func actionLabel(a string) string {
	switch a {
	case model.ActionCreate, model.ActionSet, model.ActionDelete, model.ActionUpdate, model.ActionLog,
		model.ActionSync, model.ActionReinitialize, model.ActionDBRestart:
		return a
	}
	return "other"
}

// reasonLabel bounds the resync reason label.
func reasonLabel(r string) string {
	if len(r) > 40 || strings.ContainsAny(r, " \n") {
		return "other"
	}
	return r
}

// registerAll registers the NbApi's pub/sub series (events per topic,
// latency, drops, registration state) next to the controller's own.
func registerAll(r prometheus.Registerer, cs []prometheus.Collector) error {
	for _, col := range cs {
		if err := r.Register(col); err != nil {
			return fmt.Errorf("controller: register pub/sub metrics: %w", err)
		}
	}
	return nil
}
