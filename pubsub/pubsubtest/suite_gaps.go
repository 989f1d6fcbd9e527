package pubsubtest

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

func init() {
	register("OverflowReported", testOverflowReported)
	register("PublisherRestartEpoch", testPublisherRestartEpoch)
}

const (
	// overflowQueue is the QueueSize of the overflow case's subscriber.
	overflowQueue = 8
	// overflowRounds bounds the rounds the overflow case tries before it
	// decides the driver's queue is not bounded.
	overflowRounds = 5
	// overflowPublishTimeout bounds each Publish of the overflow case, so a
	// driver that lets a slow subscriber block the publisher fails fast.
	overflowPublishTimeout = 500 * time.Millisecond
)

// OverflowReported: while the subscriber's OnEvent is blocked, the
// publisher sends 10×QueueSize events; Publish does not block. After the
// release, every event is either delivered (intact, in order, once) or lost
// with a gap naming the publisher reported before the next event delivered
// on the topic, whatever the reason (overflow, seq, heartbeat); gaps that
// count their loss cover it. A round in which nothing was lost (a driver
// with more buffering than the queue) is repeated, up to overflowRounds.
// Delivery then resumes without gaps (for fewer events than the queue
// holds).
func testOverflowReported(e *env) {
	p := e.publisher("p", func(cfg *pubsub.PublisherConfig) { cfg.PublishTimeout = overflowPublishTimeout })
	topic := e.topic("a")
	var gate atomic.Pointer[chan struct{}]
	hook := func(ev pubsub.Event) {
		if release := gate.Load(); release != nil && ev.Meta.PublisherID == p.info.ID {
			select {
			case <-*release:
			case <-e.ctx.Done():
			}
		}
	}
	s := e.subscriber(subOptions{topics: []string{topic}, queueSize: overflowQueue, hook: hook}, p)
	from := e.barrier(s, p, topic)
	for round := 1; ; round++ {
		release := make(chan struct{})
		gate.Store(&release)
		sent := updates(fmt.Sprintf("round%d", round), 10*overflowQueue, topic)
		e.publish(p, sent...) // fails on ErrPublishTimeout: the slow subscriber slowed the publisher
		gate.Store(nil)
		close(release)
		to := e.barrier(s, p, topic)
		delivered := e.requireAccounted(s.snapshot(), run{p: p, topic: topic, from: from, to: to, want: sent})
		from = to
		if delivered < len(sent) {
			break
		}
		require.Less(e.t, round, overflowRounds,
			"%d rounds of %d events to an OnEvent blocked with QueueSize %d lost nothing: is the queue bounded?",
			round, len(sent), overflowQueue)
	}
	after := e.send(s, p, topic, from, updates("after", overflowQueue/2, topic)) // fits the queue, with the barrier's probe
	ents := e.close(s)
	e.requireRun(ents, after)
	e.requireNoDuplicates(ents)
}

// PublisherRestartEpoch: a publisher is closed and started again with the
// same id (and URI) and the next epoch. Without being told, the subscriber
// reaches the new incarnation; before its first event it reports GapEpoch
// (or GapReconnect) naming the publisher (or every publisher); no event of
// the old epoch follows; the new epoch's events arrive exactly, with the new
// epoch and consecutive seqs, and no further gap.
func testPublisherRestartEpoch(e *env) {
	p1, topic, s := e.pair(subOptions{})
	first := e.send(s, p1, topic, e.barrier(s, p1, topic), updates("first", 5, topic))

	p2 := e.restart(p1)
	require.Greater(e.t, p2.info.Epoch, p1.info.Epoch)
	if p1.cfg.ListenURI != "" {
		require.Equal(e.t, p1.info.URI, p2.info.URI, "a publisher restarted on its resolved URI")
	}
	second := e.send(s, p2, topic, e.barrier(s, p2, topic), updates("second", 10, topic))
	ents := e.close(s)

	e.requireRun(ents, first)
	e.requireRun(ents, second)
	id := p1.info.ID
	firstNew := -1
	for i, en := range ents {
		if en.ev != nil && en.ev.Meta.PublisherID == id && en.ev.Meta.Epoch == p2.info.Epoch {
			firstNew = i
			break
		}
	}
	require.Greater(e.t, firstNew, first.to.pos)
	reported := false
	for _, en := range ents[first.to.pos+1 : firstNew] {
		if g := en.gap; g != nil && names(g, id, topic) && (g.Reason == pubsub.GapEpoch || g.Reason == pubsub.GapReconnect) {
			reported = true
		}
	}
	require.True(e.t, reported, "no GapEpoch or GapReconnect for %s before its new epoch's first event", id)
	for i, en := range ents[firstNew:] {
		if en.ev != nil && en.ev.Meta.PublisherID == id {
			require.Equal(e.t, p2.info.Epoch, en.ev.Meta.Epoch, "entry %d: an old-epoch event after the new epoch's first", firstNew+i)
		}
	}
	e.requireNoDuplicates(ents)
}
