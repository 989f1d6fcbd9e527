package pubservice

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// Stats are the service's counters, cumulative since New.
type Stats struct {
	// Relayed counts worker events re-published.
	Relayed uint64
	// Gaps counts the losses detected on the worker → service hop, by
	// reason (pubsub.GapReason, or FirstContact); LostReported sums their
	// known sizes.
	Gaps         map[string]uint64
	LostReported uint64
	// Markers counts the resync markers published for those gaps.
	Markers uint64
	// TableEvents counts the NB table changes published; TableRelists the
	// lists made after a watch broke or was compacted.
	TableEvents, TableRelists uint64
	// PublishErrors counts events the PUB refused (only while closing).
	PublishErrors uint64
	// Origins is the number of workers the relay remembers.
	Origins int
	// Pull and Pub are the sockets' own counters.
	Pull zmq.SubscriberStats
	Pub  zmq.PublisherStats
}

// counters are the live counters behind Stats.
type counters struct {
	relayed, lost, markers    atomic.Uint64
	tableEvents, tableRelists atomic.Uint64
	publishErrors             atomic.Uint64
	origins                   atomic.Int64
	gaps                      reasons
}

// reasons counts by label. Safe for concurrent use.
type reasons struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (r *reasons) inc(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]uint64{}
	}
	r.m[reason]++
}

func (r *reasons) snapshot() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.m)
}
