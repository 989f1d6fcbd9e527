package redis

import (
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

// event is one entry of the delivery queue (deliver.Queue, filled by the
// receive goroutine, never blocking it): a decoded event and the channel it
// arrived on. Besides events the queue carries GapReconnect and
// GapMalformed reports, overflow reports and the Tracker resets of
// registration changes, all in arrival order.
type event struct {
	ev    pubsub.Event
	topic string
}

// deliver is the delivery goroutine: the only caller of the Tracker,
// OnEvent and OnGap. It ends when Close closes s.closing.
func (s *Subscriber) deliver() {
	defer s.wg.Done()
	s.q.Run(s.closing, deliver.Handler[event]{
		Event:    s.deliverEvent,
		Overflow: s.sink.Overflow,
		Gap:      s.sink.Gap,
	})
}

// deliverEvent checks the publisher is still registered (an event queued
// before UnregisterPublisher returned is not delivered after), runs the
// Tracker on the event's channel, and calls OnEvent. Events without a
// publisher id (a Dragonflow v1 peer, a strict-mode publisher) are
// delivered untracked.
//
// Unlike etcd and nats, redis keeps its registrations in a copy-on-write
// map read without a lock by both goroutines, and has no fence and no
// registration generations: UnregisterPublisher queues the Tracker's
// Forget itself, and the check here drops what was queued before it.
func (s *Subscriber) deliverEvent(e event) {
	if id := e.ev.Meta.PublisherID; id != "" {
		uri, ok := (*s.pubs.Load())[id]
		if !ok {
			s.stats.filtered.Add(1)
			return
		}
		e.ev.Endpoint = uri
	}
	s.sink.Observe(e.ev, e.topic)
}
