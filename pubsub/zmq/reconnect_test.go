package zmq_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// TestManyEndpointsRestartOne: one subscriber of two publishers; one is
// restarted on its port. The other is never interrupted (consecutive seqs,
// no gap naming it), the restarted one resumes, nothing is duplicated.
func TestManyEndpointsRestartOne(t *testing.T) {
	d := fastDriver()
	p1, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p1", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"})
	require.NoError(t, err)
	p2 := startPub(t, d, "p2", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, d, 0, "D")
	register(t, s, "p1", p1.Info().URI)
	register(t, s, "p2", p2.Info().URI)
	waitSubscribed(t, p1.(*zmq.Publisher), 1, "D")
	waitSubscribed(t, p2, 1, "D")
	from := func(pub string) func(pubsub.Event) bool {
		return func(ev pubsub.Event) bool { return ev.Meta.PublisherID == pub }
	}

	publishN(t, p1, "D", "p1a", 100)
	publishN(t, p2, "D", "p2a", 100)
	waitUntil(t, "first round", func() bool { return sk.count(from("p1")) == 100 && sk.count(from("p2")) == 100 })

	uri := p1.Info().URI
	require.NoError(t, p1.Close())
	publishN(t, p2, "D", "p2b", 100) // while p1 is down
	waitUntil(t, "p2 while p1 is down", func() bool { return sk.count(from("p2")) == 200 })

	p1b := startPub(t, d, "p1", uri, 2)
	waitSubscribed(t, p1b, 1, "D")
	publishN(t, p1b, "D", "p1c", 100)
	publishN(t, p2, "D", "p2c", 100)
	waitUntil(t, "both after the restart", func() bool { return sk.count(from("p1")) == 200 && sk.count(from("p2")) == 300 })

	evs, gaps := sk.snapshot()
	for _, g := range gaps {
		require.Equal(t, "p1", g.PublisherID, "only the restarted publisher has gaps: %v", g)
	}
	var p2evs []pubsub.Event
	seen := map[string]bool{}
	for _, ev := range evs {
		k := fmt.Sprint(ev.Meta.PublisherID, ev.Meta.Epoch, ev.Meta.Seq)
		require.False(t, seen[k], "duplicate %s", k)
		seen[k] = true
		if ev.Meta.PublisherID == "p2" {
			p2evs = append(p2evs, ev)
		}
	}
	requireSeqRun(t, p2evs)
}

// TestConnectBeforeBind: a subscriber registered with a publisher that is
// not there yet keeps retrying, and receives once it binds; the first
// connection is no reconnect.
func TestConnectBeforeBind(t *testing.T) {
	d := fastDriver()
	uri := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	s, sk := startSub(t, d, 0, "D")
	register(t, s, "late-pub", uri)
	waitUntil(t, "a failed attempt", func() bool {
		eps := s.Stats().Endpoints
		return len(eps) == 1 && !eps[0].Connected && eps[0].LastError != ""
	})
	p := startPub(t, d, "late-pub", uri, 1)
	waitSubscribed(t, p, 1, "D")
	publishN(t, p, "D", "ev", 10)
	waitUntil(t, "events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 10 })
	_, gaps := sk.snapshot()
	require.Empty(t, gaps)
	require.Zero(t, s.Stats().Reconnects)
}

// TestDedupByPublisherID: the same publisher registered under two URIs has
// one connection, the one registered last; nothing arrives twice.
func TestDedupByPublisherID(t *testing.T) {
	d := fastDriver()
	p := startPub(t, d, "dup", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, d, 0, "D")
	register(t, s, "dup", p.Info().URI)
	waitSubscribed(t, p, 1, "D")
	alias := strings.Replace(p.Info().URI, "127.0.0.1", "localhost", 1)
	register(t, s, "dup", alias)
	register(t, s, "dup", alias) // same id and URI: no-op
	waitUntil(t, "one connection, through the alias", func() bool {
		eps := s.Stats().Endpoints
		return len(eps) == 1 && eps[0].URI == alias && eps[0].Connected && len(p.Stats().Conns) == 1
	})
	waitSubscribed(t, p, 1, "D")
	publishN(t, p, "D", "ev", 100)
	waitUntil(t, "events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 100 })
	evs, _ := sk.snapshot()
	require.Len(t, evs, 100)
	for _, ev := range evs {
		require.Equal(t, alias, ev.Endpoint)
	}
	requireSeqRun(t, evs)
	require.ErrorIs(t, s.UnregisterPublisher("nope"), pubsub.ErrUnknownPublisher)
	require.NoError(t, s.UnregisterPublisher("dup"))
	waitUntil(t, "the publisher sees the subscriber go", func() bool { return p.Subscribers() == 0 })
}
