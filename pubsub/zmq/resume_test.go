package zmq_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

func eventsOf(evs []pubsub.Event, topic string) []pubsub.Event {
	var out []pubsub.Event
	for _, ev := range evs {
		if ev.Update.TopicOrDefault() == topic {
			out = append(out, ev)
		}
	}
	return out
}

// A resuming subscriber gets exactly what it missed from the replay
// buffer, in order, before the live events published meanwhile, and no gap.
func TestResumeReplaysMissedEvents(t *testing.T) {
	d := fastDriver()
	p := startPub(t, d, "p1", "tcp://127.0.0.1:0", 7)
	publishN(t, p, "a", "old", 100)
	publishN(t, p, "b", "old", 50)

	s, sk := startSub(t, d, 0, "a", "b")
	require.NoError(t, s.Resume("p1", 7, map[string]uint64{"a": 60, "b": 50}))
	// Live events race with the resume: they must come after the replay.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	live := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			require.NoError(t, p.Publish(context.Background(), upd("a", fmt.Sprintf("live-%d", live))))
			live++
			if live == 400 {
				return
			}
		}
	})
	register(t, s, "p1", p.Info().URI)
	waitSubscribed(t, p, 1, "b")
	wg.Wait()
	close(stop)
	publishN(t, p, "b", "new", 5)
	waitUntil(t, "replayed and live events", func() bool {
		return sk.count(func(ev pubsub.Event) bool { return true }) == 40+live+5
	})
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	a := eventsOf(evs, "a")
	require.EqualValues(t, 61, a[0].Meta.Seq)
	require.EqualValues(t, 100+live, a[len(a)-1].Meta.Seq)
	requireSeqRun(t, a)
	b := eventsOf(evs, "b")
	require.EqualValues(t, 51, b[0].Meta.Seq)
	requireSeqRun(t, b)
	st := p.Stats()
	require.EqualValues(t, 2, st.Resumes)
	// The missed ones, and the live ones published before the subscription.
	require.GreaterOrEqual(t, st.Replayed, uint64(40))
	require.LessOrEqual(t, st.Replayed, uint64(40+live))
	require.Zero(t, st.ResumeMisses)
	require.EqualValues(t, 1, s.Stats().ResumesSent)
}

// A position the buffer no longer covers replays nothing: the subscriber
// reports the jump as a gap (the consumer's resync is the fallback), and
// delivers nothing at or below its position.
func TestResumeNotCoveredFallsBackToGap(t *testing.T) {
	d := fastDriver(zmq.WithReplayBuffer(10, 1<<20))
	p := startPub(t, d, "p1", "tcp://127.0.0.1:0", 7)
	publishN(t, p, "a", "old", 100)
	s, sk := startSub(t, d, 0, "a")
	require.NoError(t, s.Resume("p1", 7, map[string]uint64{"a": 50}))
	register(t, s, "p1", p.Info().URI)
	waitSubscribed(t, p, 1, "a")
	publishN(t, p, "a", "new", 1)
	waitUntil(t, "the new event", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 1 })
	evs, gaps := sk.snapshot()
	require.EqualValues(t, 101, evs[0].Meta.Seq)
	require.NotEmpty(t, gaps)
	require.Contains(t, []pubsub.GapReason{pubsub.GapSeq, pubsub.GapHeartbeat}, gaps[0].Reason)
	require.Equal(t, "a", gaps[0].Topic)
	require.EqualValues(t, 51, gaps[0].Expected)
	require.Zero(t, p.Stats().Replayed)
	require.EqualValues(t, 1, p.Stats().ResumeMisses)
}

// Positions of another epoch (the publisher restarted) replay nothing; the
// first event is an epoch gap.
func TestResumeEpochMismatch(t *testing.T) {
	d := fastDriver()
	p := startPub(t, d, "p1", "tcp://127.0.0.1:0", 8)
	publishN(t, p, "a", "old", 20)
	s, sk := startSub(t, d, 0, "a")
	require.NoError(t, s.Resume("p1", 7, map[string]uint64{"a": 10}))
	register(t, s, "p1", p.Info().URI)
	waitSubscribed(t, p, 1, "a")
	publishN(t, p, "a", "new", 1)
	waitUntil(t, "the new event", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 1 })
	evs, _ := sk.snapshot()
	require.EqualValues(t, 21, evs[0].Meta.Seq)
	require.NotEmpty(t, sk.gapsOf(pubsub.GapEpoch))
	require.Zero(t, p.Stats().Replayed)
	require.EqualValues(t, 1, p.Stats().ResumeMisses)
}

// A seeded position makes the tracker refuse what is at or below it: a
// publisher that sends it again (here: a hand-driven PUB without replay)
// delivers nothing twice.
func TestResumeSeedRefusesDuplicates(t *testing.T) {
	d := fastDriver()
	p := startPub(t, d, "p1", "tcp://127.0.0.1:0", 7)
	s, sk := startSub(t, d, 0, "a")
	// Positions beyond what this publisher stamped: the buffer cannot cover
	// them, and the tracker refuses seqs up to them.
	require.NoError(t, s.Resume("p1", 7, map[string]uint64{"a": 5}))
	register(t, s, "p1", p.Info().URI)
	waitSubscribed(t, p, 1, "a")
	publishN(t, p, "a", "x", 8)
	waitUntil(t, "events 6..8", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 3 })
	evs, gaps := sk.snapshot()
	require.EqualValues(t, 6, evs[0].Meta.Seq)
	require.Empty(t, gaps)
	require.EqualValues(t, 5, s.Stats().Stale)
}
