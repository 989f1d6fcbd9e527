package zmq_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// TestPrefixFiltering: a subscription to "D" gets "D" and "Dxyz" (ZeroMQ
// prefix semantics), never "other"; the publisher filters (nothing of
// "other" is even queued for the subscriber).
func TestPrefixFiltering(t *testing.T) {
	d := fastDriver()
	p := startPub(t, d, "pub-filter", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, d, 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "D")

	publishN(t, p, "other", "o", 50)
	publishN(t, p, "D", "d", 20)
	publishN(t, p, "Dxyz", "x", 30)
	publishN(t, p, "other", "o2", 50)
	publishN(t, p, "D", "end", 1)
	waitUntil(t, "the last event", func() bool {
		return sk.count(func(ev pubsub.Event) bool { return ev.Update.Key == "end-0" }) == 1
	})
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	byTopic := map[string]int{}
	for _, ev := range evs {
		byTopic[ev.Update.Topic]++
	}
	require.Equal(t, map[string]int{"D": 21, "Dxyz": 30}, byTopic)
	require.Equal(t, uint64(51), p.Stats().Enqueued, "the publisher filters: 'other' is never queued")
	require.Error(t, p.Publish(t.Context(), upd("\x00df.hb", "x")), "NUL-prefixed topics are reserved")
}

// TestRuntimeSubscribe: topics registered and unregistered while running
// take effect on the live connection; once UnregisterTopic has returned,
// later events of the topic are not delivered, and registering it again
// delivers again without a false gap.
func TestRuntimeSubscribe(t *testing.T) {
	d := fastDriver()
	p := startPub(t, d, "pub-rt", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, d, 0, "keep")
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "keep")

	require.NoError(t, s.RegisterTopic("late"))
	require.NoError(t, s.RegisterTopic("late"), "idempotent")
	require.Equal(t, []string{"keep", "late"}, s.Topics())
	waitSubscribed(t, p, 1, "late")
	publishN(t, p, "late", "l1", 5)
	waitUntil(t, "late events", func() bool {
		return sk.count(func(ev pubsub.Event) bool { return ev.Update.Topic == "late" }) == 5
	})

	require.NoError(t, s.UnregisterTopic("late"))
	require.NoError(t, s.UnregisterTopic("never"), "unknown topic: no-op")
	publishN(t, p, "late", "l2", 5) // sent after UnregisterTopic returned: never delivered
	publishN(t, p, "keep", "k", 1)
	waitUntil(t, "the keep event", func() bool {
		return sk.count(func(ev pubsub.Event) bool { return ev.Update.Topic == "keep" }) == 1
	})
	waitUntil(t, "the cancel at the publisher", func() bool {
		c := p.Stats().Conns
		return len(c) == 1 && !slices.Contains(c[0].Subscriptions, "late")
	})
	publishN(t, p, "late", "l3", 5) // filtered at the publisher now

	require.NoError(t, s.RegisterTopic("late"))
	waitSubscribed(t, p, 1, "late")
	publishN(t, p, "late", "l4", 5)
	waitUntil(t, "late events again", func() bool {
		return sk.count(func(ev pubsub.Event) bool { return ev.Update.Topic == "late" }) == 10
	})
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps, "no false gap for what was sent while unsubscribed")
	var keys []string
	for _, ev := range evs {
		if ev.Update.Topic == "late" {
			keys = append(keys, ev.Update.Key[:2])
		}
	}
	require.Equal(t, []string{"l1", "l1", "l1", "l1", "l1", "l4", "l4", "l4", "l4", "l4"}, keys)
}
