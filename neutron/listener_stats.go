package neutron

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ListenerStats counts what a Listener did since it started.
type ListenerStats struct {
	Received         uint64            `json:"received"`          // events delivered by the subscriber
	Events           uint64            `json:"events"`            // valid port status events handled
	EventsApplied    uint64            `json:"events_applied"`    // events that changed a port's status
	Applied          uint64            `json:"applied"`           // port status writes (events and reconciles)
	Unchanged        uint64            `json:"unchanged"`         // events that matched the stored status
	UnknownPorts     uint64            `json:"unknown_ports"`     // status for a port that does not exist
	Dropped          map[string]uint64 `json:"dropped,omitempty"` // by Drop* reason
	Gaps             uint64            `json:"gaps"`              // gaps reported by the subscriber
	ResyncMarkers    uint64            `json:"resync_markers"`    // df_resync markers of a publisher service
	Reconciles       uint64            `json:"reconciles"`        // reads of the portstatus table
	ReconcileApplied uint64            `json:"reconcile_applied"` // writes made by reconciles
	PublishFailures  uint64            `json:"publish_failures"`  // status written, set not published
	Heartbeats       uint64            `json:"heartbeats"`        // listener row writes
	HeartbeatErrors  uint64            `json:"heartbeat_errors"`
	LeaseLost        uint64            `json:"lease_lost"` // leases found gone and replaced
}

type listenerCounters struct {
	received, events, eventsApplied, applied, unchanged, unknownPorts, gaps, resyncMarkers atomic.Uint64
	reconciles, reconcileApplied, publishFailures, heartbeats, heartbeatErrs               atomic.Uint64
	leaseLost                                                                              atomic.Uint64

	mu      sync.Mutex
	dropped map[string]uint64
}

func (c *listenerCounters) drop(reason string) {
	c.mu.Lock()
	c.dropped[reason]++
	c.mu.Unlock()
}

// Stats returns a copy of the counters.
func (l *Listener) Stats() ListenerStats {
	c := &l.stats
	c.mu.Lock()
	dropped := maps.Clone(c.dropped)
	c.mu.Unlock()
	return ListenerStats{
		Received: c.received.Load(), Events: c.events.Load(), EventsApplied: c.eventsApplied.Load(), Applied: c.applied.Load(),
		Unchanged: c.unchanged.Load(), UnknownPorts: c.unknownPorts.Load(), Dropped: dropped,
		Gaps: c.gaps.Load(), ResyncMarkers: c.resyncMarkers.Load(), Reconciles: c.reconciles.Load(),
		ReconcileApplied: c.reconcileApplied.Load(), PublishFailures: c.publishFailures.Load(),
		Heartbeats: c.heartbeats.Load(), HeartbeatErrors: c.heartbeatErrs.Load(), LeaseLost: c.leaseLost.Load(),
	}
}

// TotalDropped is the sum of Dropped.
func (s ListenerStats) TotalDropped() uint64 {
	var n uint64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

var (
	descLEvents = prometheus.NewDesc("df_neutron_listener_events_total",
		"Events on the listener topic, by result (applied, unchanged, unknown_port).", []string{"result"}, nil)
	descLDropped = prometheus.NewDesc("df_neutron_listener_dropped_total",
		"Events on the listener topic dropped, by reason.", []string{"reason"}, nil)
	descLGaps = prometheus.NewDesc("df_neutron_listener_gaps_total",
		"Gaps reported by the listener's subscriber (each leads to a reconcile).", nil, nil)
	descLReconciles = prometheus.NewDesc("df_neutron_listener_reconciles_total",
		"Reconciles of port status from the portstatus table.", nil, nil)
	descLReconcileApplied = prometheus.NewDesc("df_neutron_listener_reconcile_applied_total",
		"Port status writes made by reconciles (events that had been missed).", nil, nil)
	descLStatusApplied = prometheus.NewDesc("df_neutron_port_status_applied_total",
		"Port status changes written to the NB DB (events and reconciles).", nil, nil)
	descLHeartbeats = prometheus.NewDesc("df_neutron_listener_heartbeats_total",
		"Writes of the listener row (lease kept alive, timestamp refreshed).", nil, nil)
	descLLeaseLost = prometheus.NewDesc("df_neutron_listener_lease_lost_total",
		"Listener leases found gone and replaced.", nil, nil)
)

type listenerCollector struct{ stats func() ListenerStats }

// NewListenerCollector returns a collector of the counters stats returns
// (called on every scrape): df_neutron_listener_*_total and
// df_neutron_port_status_applied_total.
func NewListenerCollector(stats func() ListenerStats) prometheus.Collector {
	return listenerCollector{stats: stats}
}

func (listenerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLEvents, descLDropped, descLGaps, descLReconciles,
		descLReconcileApplied, descLStatusApplied, descLHeartbeats, descLLeaseLost} {
		ch <- d
	}
}

func (c listenerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descLEvents, s.EventsApplied, "applied")
	counter(descLEvents, s.Unchanged, "unchanged")
	counter(descLEvents, s.UnknownPorts, "unknown_port")
	for reason, n := range s.Dropped {
		counter(descLDropped, n, reason)
	}
	counter(descLGaps, s.Gaps)
	counter(descLReconciles, s.Reconciles)
	counter(descLReconcileApplied, s.ReconcileApplied)
	counter(descLStatusApplied, s.Applied)
	counter(descLHeartbeats, s.Heartbeats)
	counter(descLLeaseLost, s.LeaseLost)
}
