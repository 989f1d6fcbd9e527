// Package testutil holds helpers shared by the tests of several packages: a
// buffer safe to read while a command writes to it, and a sink that records
// what a subscriber delivers. Only tests import it.
package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// LockedBuffer is a bytes.Buffer safe to read while another goroutine writes.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Sink records a subscriber's events and gaps; pass OnEvent and OnGap in
// its SubscriberConfig.
type Sink struct {
	mu     sync.Mutex
	events []pubsub.Event
	gaps   []pubsub.Gap
}

// OnEvent records ev.
func (s *Sink) OnEvent(ev pubsub.Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
}

// OnGap records g.
func (s *Sink) OnGap(g pubsub.Gap) {
	s.mu.Lock()
	s.gaps = append(s.gaps, g)
	s.mu.Unlock()
}

// Snapshot returns copies of what was recorded so far.
func (s *Sink) Snapshot() ([]pubsub.Event, []pubsub.Gap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pubsub.Event(nil), s.events...), append([]pubsub.Gap(nil), s.gaps...)
}

// Matching returns the recorded events keep accepts.
func (s *Sink) Matching(keep func(pubsub.Event) bool) []pubsub.Event {
	evs, _ := s.Snapshot()
	out := evs[:0]
	for _, ev := range evs {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// All returns every recorded event.
func (s *Sink) All() []pubsub.Event {
	evs, _ := s.Snapshot()
	return evs
}

// Gaps returns every recorded gap.
func (s *Sink) Gaps() []pubsub.Gap {
	_, gaps := s.Snapshot()
	return gaps
}

// WaitN waits up to timeout until keep accepts n recorded events and
// returns them.
func (s *Sink) WaitN(t *testing.T, timeout time.Duration, n int, keep func(pubsub.Event) bool) []pubsub.Event {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.Matching(keep)) >= n }, timeout, 2*time.Millisecond)
	return s.Matching(keep)
}
