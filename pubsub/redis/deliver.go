package redis

import "github.com/dragonflow-go/dragonflow/pubsub"

// deliver is the delivery goroutine: the only caller of the Tracker,
// OnEvent and OnGap. It ends when Close closes s.closing.
func (s *Subscriber) deliver() {
	defer s.wg.Done()
	for {
		it, ok := s.q.next(s.closing)
		switch {
		case !ok:
			return
		case it.ctrl != nil:
			it.ctrl()
		case it.over != nil:
			s.reportOverflow(*it.over)
		case it.gap != nil:
			s.gap(*it.gap)
		default:
			s.deliverEvent(it.ev, it.topic)
		}
	}
}

// deliverEvent checks the publisher is still registered (an event queued
// before UnregisterPublisher returned is not delivered after), runs the
// Tracker on the event's channel, and calls OnEvent. Events without a
// publisher id (a Dragonflow v1 peer, a strict-mode publisher) are
// delivered untracked.
func (s *Subscriber) deliverEvent(ev *pubsub.Event, topic string) {
	if id := ev.Meta.PublisherID; id != "" {
		uri, ok := (*s.pubs.Load())[id]
		if !ok {
			s.stats.filtered.Add(1)
			return
		}
		ev.Endpoint = uri
	}
	gap, isGap, deliver := s.tracker.Observe(ev.Meta, topic)
	if isGap {
		s.gap(gap)
	}
	if deliver {
		s.onEvent(*ev)
	}
}

// reportOverflow reports dropped events as GapOverflow. When the Tracker
// follows the topic in that epoch, it also advances the Tracker past the
// dropped seqs (through ObserveHeartbeat), so the next event does not
// report the same loss again as GapSeq; otherwise the drops precede the
// Tracker's baseline and are reported with their count.
func (s *Subscriber) reportOverflow(o overflow) {
	g, tracked := s.tracker.ObserveHeartbeat(o.pub, o.epoch, o.topic, o.last)
	if tracked {
		g.Reason = pubsub.GapOverflow
	} else {
		g = pubsub.Gap{Reason: pubsub.GapOverflow, PublisherID: o.pub, Topic: o.topic, Lost: o.count}
	}
	s.gap(g)
}

func (s *Subscriber) gap(g pubsub.Gap) {
	if s.onGap == nil {
		s.log.Warn("redis: subscriber lost events", "gap", g.String())
		return
	}
	s.onGap(g)
}
