package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// With ResyncJitter, the resync a gap asks for runs after a random delay
// within the bound, a burst of gaps meanwhile coalesces into it, and the
// start sync is not delayed.
func TestResyncJitterDelaysAndCoalesces(t *testing.T) {
	const jitter = 300 * time.Millisecond
	var gaps []pubsub.Gap
	var mu sync.Mutex
	e := newEnv(t, nil, func(c *Config) {
		c.ResyncJitter = jitter
		c.OnGap = func(g pubsub.Gap) { mu.Lock(); gaps = append(gaps, g); mu.Unlock() }
	})
	e.start()
	require.Equal(t, 1, e.h.resyncsOf(ReasonStart))
	require.Zero(t, e.h.Resyncs()[0].Delayed)

	put(t, e.db, lport("missed", "t1", 1))
	for range 20 {
		e.c.handleGap(pubsub.Gap{Reason: pubsub.GapSeq, PublisherID: "x", Topic: model.DefaultTopic, Expected: 3, Got: 5})
	}
	require.Equal(t, 1, e.c.Stats().ResyncsQueued)
	require.EqualValues(t, 19, e.c.Stats().ResyncsCoalesced)
	e.waitCached("lport", "missed", 1)
	require.Eventually(t, func() bool { return e.h.resyncsOf("gap-seq") == 1 }, waitFor, 2*time.Millisecond)
	for _, r := range e.h.Resyncs() {
		if r.Reason == "gap-seq" {
			require.LessOrEqual(t, r.Delayed, jitter+50*time.Millisecond, "delay within the jitter bound")
		}
	}
	mu.Lock()
	require.Len(t, gaps, 20, "OnGap sees every gap")
	mu.Unlock()

	// An immediate request (a new tenant topic is not spread) still runs
	// at once while nothing waits.
	require.False(t, spread(ReasonTopicAdded))
	require.False(t, spread(ReasonStart))
	require.False(t, spread(ReasonPeriodic))
	require.True(t, spread("gap-epoch"))
	require.True(t, spread(ReasonNewPublisher))
	require.True(t, spread(ReasonMarker))
}

// A request due later is brought forward by a sooner one and taken in
// order once due.
func TestQueueDueTimes(t *testing.T) {
	q := newQueue()
	now := time.Unix(1000, 0)
	require.True(t, q.requestAt("a", "gap-seq", now, now.Add(time.Second)))
	require.True(t, q.requestAt("b", "gap-seq", now, now.Add(2*time.Second)))
	_, _, ok, wait := q.nextDue(now)
	require.False(t, ok)
	require.Equal(t, now.Add(time.Second), wait)
	require.False(t, q.requestAt("b", "new-publisher", now, now.Add(500*time.Millisecond)))
	_, _, ok, wait = q.nextDue(now)
	require.False(t, ok)
	require.Equal(t, now.Add(500*time.Millisecond), wait)
	topic, e, ok, _ := q.nextDue(now.Add(time.Second))
	require.True(t, ok)
	require.Equal(t, "a", topic, "first in first out among due topics")
	require.Equal(t, "gap-seq", e.reason)
	topic, e, ok, _ = q.nextDue(now.Add(time.Second))
	require.True(t, ok)
	require.Equal(t, "b", topic)
	require.Equal(t, "gap-seq", e.reason, "the first request's reason is kept")
	require.Equal(t, now.Add(500*time.Millisecond), e.due)
	_, _, ok, wait = q.nextDue(now.Add(time.Hour))
	require.False(t, ok)
	require.True(t, wait.IsZero())
	// A zero due is taken at once, even with a zero now.
	require.True(t, q.request("c", "start"))
	topic, _, ok = q.next()
	require.True(t, ok)
	require.Equal(t, "c", topic)
}

// A shared SyncLimit holds a controller's resync until a slot frees; the
// report says how long it waited.
func TestSyncLimitCapsResyncs(t *testing.T) {
	lim := NewSyncLimit(1)
	require.Equal(t, 1, lim.Cap())
	e := newEnv(t, nil, func(c *Config) { c.SyncLimit = lim })
	e.start()
	require.Equal(t, 1, lim.Peak())

	require.NoError(t, lim.acquire(t.Context())) // the test holds the only slot
	held := time.Now()
	put(t, e.db, lport("missed", "t1", 1))
	e.c.handleGap(pubsub.Gap{Reason: pubsub.GapReconnect, PublisherID: "x"})
	require.Eventually(t, func() bool { return lim.Waits() >= 1 }, waitFor, time.Millisecond)
	_, cached := e.c.Cached("lport", "missed")
	require.False(t, cached, "the resync waits for the slot")
	lim.release()
	e.waitCached("lport", "missed", 1)
	require.Eventually(t, func() bool { return e.h.resyncsOf("gap-reconnect") == 1 }, waitFor, 2*time.Millisecond)
	for _, r := range e.h.Resyncs() {
		if r.Reason == "gap-reconnect" {
			require.Positive(t, r.Waited)
			require.LessOrEqual(t, r.Waited, time.Since(held))
		}
	}
	require.Equal(t, 1, lim.Peak(), "never more than the cap")

	// A wait ends with its ctx.
	require.NoError(t, lim.acquire(t.Context()))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, lim.acquire(ctx), context.Canceled)
	lim.release()
}
