package pubsubtest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// entry is one callback: an event or a gap.
type entry struct {
	ev  *pubsub.Event
	gap *pubsub.Gap
}

// sink records a subscriber's callbacks in order. Waiters block on changed,
// which is closed and replaced on every callback.
type sink struct {
	// hook, if set, runs on the delivery goroutine after an event is
	// recorded (e.g. to block it).
	hook func(pubsub.Event)
	// closed is set once the subscriber's Close has returned; a callback
	// after it counts in late.
	closed atomic.Bool
	late   atomic.Int64

	mu      sync.Mutex
	entries []entry
	changed chan struct{}
}

func newSink() *sink { return &sink{changed: make(chan struct{})} }

func (s *sink) onEvent(ev pubsub.Event) {
	s.add(entry{ev: &ev})
	if s.hook != nil {
		s.hook(ev)
	}
}

func (s *sink) onGap(g pubsub.Gap) { s.add(entry{gap: &g}) }

func (s *sink) add(en entry) {
	if s.closed.Load() {
		s.late.Add(1)
	}
	s.mu.Lock()
	s.entries = append(s.entries, en)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// snapshot returns the entries so far (shared backing array: read only).
func (s *sink) snapshot() []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries[:len(s.entries):len(s.entries)]
}

// waitFor waits up to d for find to return a position >= 0 in the entries
// from index from on, and returns it (or -1 on timeout or when stop closes).
func (s *sink) waitFor(d time.Duration, stop <-chan struct{}, from int, find func(i int, en entry) bool) int {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ents, changed := s.entries, s.changed
		s.mu.Unlock()
		for i := from; i < len(ents); i++ {
			if find(i, ents[i]) {
				return i
			}
		}
		from = max(from, len(ents))
		select {
		case <-changed:
		case <-timer.C:
			return -1
		case <-stop:
			return -1
		}
	}
}
