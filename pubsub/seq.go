package pubsub

import (
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
)

// NewEpoch returns a fresh epoch for a publisher starting now. Epochs are
// wall-clock nanoseconds: distinct across restarts of one process and
// increasing, so a subscriber can tell an old incarnation's late event from a
// new incarnation's first.
func NewEpoch() uint64 { return uint64(time.Now().UnixNano()) }

// Sequencer stamps outgoing events: one seq counter per topic, starting at 1.
// Safe for concurrent use; the stamp and the send must happen in the same
// order for subscribers to see no false gap, so publishers call Stamp under
// the lock that orders their sends.
type Sequencer struct {
	id    string
	epoch uint64
	now   func() time.Time

	mu   sync.Mutex
	next map[string]uint64
}

// NewSequencer returns a sequencer for publisher id in epoch.
func NewSequencer(id string, epoch uint64) *Sequencer {
	return &Sequencer{id: id, epoch: epoch, now: time.Now, next: map[string]uint64{}}
}

// Stamp returns the Meta for the next event on topic.
func (s *Sequencer) Stamp(topic string) model.Meta {
	s.mu.Lock()
	s.next[topic]++
	seq := s.next[topic]
	s.mu.Unlock()
	return model.Meta{PublisherID: s.id, Epoch: s.epoch, Seq: seq, PublishTime: s.now().UnixNano()}
}

// Last returns the last seq stamped on each topic (for heartbeats).
func (s *Sequencer) Last() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]uint64, len(s.next))
	for t, n := range s.next {
		out[t] = n
	}
	return out
}

type trackKey struct{ pub, topic string }

// Tracker is the subscriber-side gap detector shared by all drivers. It is
// not safe for concurrent use: a subscriber calls it from its one delivery
// goroutine.
//
// Rules:
//   - An event without Meta (a Dragonflow v1 peer) is delivered untracked.
//   - The first event seen from a publisher, or on a topic of a known
//     publisher, sets the baseline: no gap. Anything before it predates the
//     subscription, and consumers sync after subscribing.
//   - A newer epoch than the known one is GapEpoch for every topic of the
//     publisher, and resets its counters.
//   - An older epoch, or a seq already seen, is a duplicate or a late event
//     of a dead incarnation: not delivered, counted in Dropped.
//   - A seq beyond the expected one is GapSeq with the count lost.
type Tracker struct {
	// HeartbeatFirstContact makes a heartbeat of a publisher or topic never
	// seen before a gap of everything up to its seq (Expected 1). A relay
	// that just (re)started sets it: it cannot know whether its previous
	// incarnation forwarded those events (the publisher service's PULL).
	// Set it before the first Observe.
	HeartbeatFirstContact bool

	epochs map[string]uint64
	next   map[trackKey]uint64
	// Dropped counts duplicate and stale events Observe refused.
	Dropped uint64
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{epochs: map[string]uint64{}, next: map[trackKey]uint64{}}
}

// Observe checks an arriving event. It returns the gap the event reveals,
// if any (ok == true), and whether to deliver the event.
func (t *Tracker) Observe(m model.Meta, topic string) (gap Gap, ok, deliver bool) {
	if m.PublisherID == "" {
		return Gap{}, false, true
	}
	known, seen := t.epochs[m.PublisherID]
	switch {
	case !seen:
		t.epochs[m.PublisherID] = m.Epoch
	case m.Epoch < known:
		t.Dropped++
		return Gap{}, false, false
	case m.Epoch > known:
		t.Forget(m.PublisherID)
		t.epochs[m.PublisherID] = m.Epoch
		gap, ok = Gap{Reason: GapEpoch, PublisherID: m.PublisherID}, true
	}
	k := trackKey{m.PublisherID, topic}
	want, tracked := t.next[k]
	switch {
	case !tracked || want == m.Seq:
	case m.Seq < want:
		t.Dropped++
		return gap, ok, false
	case !ok:
		gap, ok = Gap{Reason: GapSeq, PublisherID: m.PublisherID, Topic: topic,
			Expected: want, Got: m.Seq, Lost: m.Seq - want}, true
	}
	t.next[k] = m.Seq + 1
	return gap, ok, true
}

// ObserveHeartbeat checks a publisher's report that lastSeq is the newest seq
// it sent on topic in epoch. It returns GapHeartbeat when events the
// subscriber tracks are missing at the tail. Untracked topics are ignored:
// the subscriber may not be subscribed to them.
func (t *Tracker) ObserveHeartbeat(pub string, epoch uint64, topic string, lastSeq uint64) (Gap, bool) {
	k := trackKey{pub, topic}
	known, seen := t.epochs[pub]
	if t.HeartbeatFirstContact && lastSeq > 0 {
		if !seen {
			t.epochs[pub], known, seen = epoch, epoch, true
		}
		if _, tracked := t.next[k]; !tracked && known == epoch {
			t.next[k] = 1
		}
	}
	if !seen || known != epoch {
		return Gap{}, false
	}
	want, tracked := t.next[k]
	if !tracked || lastSeq < want {
		return Gap{}, false
	}
	t.next[k] = lastSeq + 1
	return Gap{Reason: GapHeartbeat, PublisherID: pub, Topic: topic,
		Expected: want, Got: lastSeq, Lost: lastSeq - want + 1}, true
}

// Forget drops all state of a publisher (unregistered, or restarted).
func (t *Tracker) Forget(pub string) {
	delete(t.epochs, pub)
	for k := range t.next {
		if k.pub == pub {
			delete(t.next, k)
		}
	}
}

// ForgetTopics drops the counters of every topic matching match (called on
// UnregisterTopic with the driver's own matching rule), so re-subscribing
// later sets a new baseline instead of reporting a false gap.
func (t *Tracker) ForgetTopics(match func(topic string) bool) {
	for k := range t.next {
		if match(k.topic) {
			delete(t.next, k)
		}
	}
}
