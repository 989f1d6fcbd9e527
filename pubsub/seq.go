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

// pubTrack is a publisher's tracking state: its known epoch and, per
// tracked topic, the next expected seq. Counters are pointers so the
// tracker's one-entry cache can hold one across Observe calls.
type pubTrack struct {
	epoch  uint64
	topics map[string]*uint64
}

type Tracker struct {
	// HeartbeatFirstContact makes a heartbeat of a publisher or topic never
	// seen before a gap of everything up to its seq (Expected 1). A relay
	// that just (re)started sets it: it cannot know whether its previous
	// incarnation forwarded those events (the publisher service's PULL).
	// Set it before the first Observe.
	HeartbeatFirstContact bool

	pubs map[string]*pubTrack

	// One-entry cache of the last (publisher, topic) Observe resolved:
	// consecutive events of one stream skip both map lookups. Cleared by
	// everything that deletes state (Forget, ForgetTopics).
	lastPub, lastTopic string
	lastTrack          *pubTrack
	lastNext           *uint64

	// Dropped counts duplicate and stale events Observe refused.
	Dropped uint64
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{pubs: map[string]*pubTrack{}}
}

// Observe checks an arriving event. It returns the gap the event reveals,
// if any (ok == true), and whether to deliver the event.
func (t *Tracker) Observe(m model.Meta, topic string) (gap Gap, ok, deliver bool) {
	if m.PublisherID == "" {
		return Gap{}, false, true
	}
	var (
		pt   *pubTrack
		next *uint64
	)
	if t.lastNext != nil && t.lastPub == m.PublisherID && t.lastTopic == topic {
		pt, next = t.lastTrack, t.lastNext
	} else {
		pt = t.pubs[m.PublisherID]
	}
	switch {
	case pt == nil:
		pt = t.newPub(m.PublisherID, m.Epoch)
	case m.Epoch < pt.epoch:
		t.Dropped++
		return Gap{}, false, false
	case m.Epoch > pt.epoch:
		t.Forget(m.PublisherID)
		pt, next = t.newPub(m.PublisherID, m.Epoch), nil
		gap, ok = Gap{Reason: GapEpoch, PublisherID: m.PublisherID}, true
	}
	if next == nil {
		next = pt.topics[topic]
	}
	if next == nil {
		next = new(uint64)
		pt.topics[topic] = next
	} else {
		switch want := *next; {
		case want == m.Seq:
		case m.Seq < want:
			t.Dropped++
			return gap, ok, false
		case !ok:
			gap, ok = Gap{Reason: GapSeq, PublisherID: m.PublisherID, Topic: topic,
				Expected: want, Got: m.Seq, Lost: m.Seq - want}, true
		}
	}
	*next = m.Seq + 1
	t.lastPub, t.lastTopic, t.lastTrack, t.lastNext = m.PublisherID, topic, pt, next
	return gap, ok, true
}

// newPub starts tracking publisher pub in epoch.
func (t *Tracker) newPub(pub string, epoch uint64) *pubTrack {
	if t.pubs == nil {
		t.pubs = map[string]*pubTrack{}
	}
	pt := &pubTrack{epoch: epoch, topics: map[string]*uint64{}}
	t.pubs[pub] = pt
	return pt
}

// dropCache clears the one-entry cache; called whenever state is deleted.
func (t *Tracker) dropCache() {
	t.lastPub, t.lastTopic, t.lastTrack, t.lastNext = "", "", nil, nil
}

// ObserveHeartbeat checks a publisher's report that lastSeq is the newest seq
// it sent on topic in epoch. It returns GapHeartbeat when events the
// subscriber tracks are missing at the tail. Untracked topics are ignored:
// the subscriber may not be subscribed to them.
func (t *Tracker) ObserveHeartbeat(pub string, epoch uint64, topic string, lastSeq uint64) (Gap, bool) {
	pt := t.pubs[pub]
	if t.HeartbeatFirstContact && lastSeq > 0 {
		if pt == nil {
			pt = t.newPub(pub, epoch)
		}
		if _, tracked := pt.topics[topic]; !tracked && pt.epoch == epoch {
			one := uint64(1)
			pt.topics[topic] = &one
		}
	}
	if pt == nil || pt.epoch != epoch {
		return Gap{}, false
	}
	next := pt.topics[topic]
	if next == nil || lastSeq < *next {
		return Gap{}, false
	}
	want := *next
	*next = lastSeq + 1
	return Gap{Reason: GapHeartbeat, PublisherID: pub, Topic: topic,
		Expected: want, Got: lastSeq, Lost: lastSeq - want + 1}, true
}

// Forget drops all state of a publisher (unregistered, or restarted).
func (t *Tracker) Forget(pub string) {
	delete(t.pubs, pub)
	t.dropCache()
}

// ForgetTopics drops the counters of every topic matching match (called on
// UnregisterTopic with the driver's own matching rule), so re-subscribing
// later sets a new baseline instead of reporting a false gap.
func (t *Tracker) ForgetTopics(match func(topic string) bool) {
	t.dropCache()
	for _, pt := range t.pubs {
		for topic := range pt.topics {
			if match(topic) {
				delete(pt.topics, topic)
			}
		}
	}
}
