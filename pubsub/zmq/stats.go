package zmq

// Counters, read through Stats() on every publisher and subscriber type. All
// counters are cumulative since the object was built; they are what the
// operator CLI and the metrics exporter read.

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ConnStats describes one live connection of a publisher (PUB: a subscriber).
type ConnStats struct {
	// Identity is how logs and drop counters name the peer: its ZMTP
	// Identity, when it sent one, and its remote address.
	Identity   string
	Remote     string
	SocketType string
	// V2 reports whether the peer announced X-Df-Version (it gets sequence
	// heartbeats).
	V2            bool
	Subscriptions []string
	Queued        int
	Sent, Dropped uint64
	Since         time.Time
}

// PublisherStats are a publisher's counters (PUB and PUSH).
type PublisherStats struct {
	// Published counts Publish calls that returned nil.
	Published uint64
	// Enqueued counts messages put on connection queues (one per matching
	// subscriber and event); Dropped those that did not fit (PUB: a full
	// subscriber queue; PUSH: timed out, or lost with a broken connection or
	// at Close).
	Enqueued, Dropped uint64
	// DroppedBy is Dropped per peer identity, for the peers currently
	// connected and the last ones that were cut.
	DroppedBy map[string]uint64
	// Accepted counts peers that completed the handshake; Cut those
	// disconnected for being stuck (write timeout) or silent (peer timeout);
	// Rejected counts refused peers and broken framing by reason (see
	// zmtp.Reason).
	Accepted, Cut uint64
	Rejected      map[string]uint64
	// Reconnects counts a PUSH's connections after the first.
	Reconnects uint64
	Conns      []ConnStats
	// Resumes counts topics of resuming subscribers replayed from the
	// replay buffer, Replayed the messages that took; ResumeMisses the
	// topics it could not cover (other epoch, evicted, already subscribed).
	Resumes, Replayed, ResumeMisses uint64
	// ReplayHeld and ReplayBytes are what the replay buffer holds;
	// ReplayEvicted counts messages it let go.
	ReplayHeld, ReplayBytes int
	ReplayEvicted           uint64
}

// SubscriberStats are a subscriber's counters (SUB and PULL).
type SubscriberStats struct {
	// Received counts event messages read off connections; Delivered those
	// handed to OnEvent.
	Received, Delivered uint64
	// Overflow counts events dropped because the delivery queue was full.
	Overflow uint64
	// Stale counts duplicates and events of a dead incarnation the tracker
	// refused; Filtered events of topics no longer subscribed.
	Stale, Filtered uint64
	// DecodeErrors counts bodies DecodeBody refused; BadMessages messages
	// that were not exactly [topic, body].
	DecodeErrors, BadMessages uint64
	// Gaps counts gap reports by reason.
	Gaps map[string]uint64
	// Heartbeats counts sequence heartbeats received.
	Heartbeats uint64
	// Connects counts handshakes completed, Reconnects those after the first
	// of an endpoint; Rejected refused peers and broken framing by reason.
	Connects, Reconnects uint64
	// ResumesSent counts publishers given resume positions (Resume) that
	// were sent on a connection.
	ResumesSent uint64
	Rejected    map[string]uint64
	// Endpoints lists the registered publishers (SUB) and their state.
	Endpoints []EndpointStats
}

// EndpointStats is one publisher a SUB is registered to.
type EndpointStats struct {
	PublisherID, URI string
	Connected        bool
	// LastError is the last connection error, "" if none.
	LastError string
}

// reasonCounts counts by label. Safe for concurrent use.
type reasonCounts struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (r *reasonCounts) inc(reason string) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[string]uint64{}
	}
	r.m[reason]++
	r.mu.Unlock()
}

func (r *reasonCounts) snapshot() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.m)
}

// recentDrops keeps the drop counts of the last cut peers (bounded), so a
// stuck subscriber's drops stay visible after it is gone.
type recentDrops struct {
	mu    sync.Mutex
	order []string
	m     map[string]uint64
}

const recentDropsMax = 64

func (r *recentDrops) add(identity string, n uint64) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]uint64{}
	}
	if _, ok := r.m[identity]; !ok {
		r.order = append(r.order, identity)
		if len(r.order) > recentDropsMax {
			delete(r.m, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.m[identity] += n
}

func (r *recentDrops) into(dst map[string]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.m {
		dst[k] += v
	}
}

// counter is an atomic counter, for brevity.
type counter = atomic.Uint64

// Subscribed counts the live connections whose subscriptions include every
// one of topics exactly (0 topics: every connection). Tools and tests use it
// to wait until subscriptions have reached the publisher (ZeroMQ's slow
// joiner).
func (s PublisherStats) Subscribed(topics ...string) int {
	n := 0
	for _, c := range s.Conns {
		all := true
		for _, t := range topics {
			if !slices.Contains(c.Subscriptions, t) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}
