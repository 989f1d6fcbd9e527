package memory

import (
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// run is the delivery goroutine: the only caller of the Tracker, OnEvent and
// OnGap. It ends when Close closes s.closing.
func (s *Subscriber) run() {
	defer s.wg.Done()
	for {
		it, ok := s.q.next(s.closing)
		switch {
		case !ok:
			return
		case it.ctrl != nil:
			it.ctrl()
		case it.overflow != nil:
			s.reportOverflow(*it.overflow)
		default:
			s.deliver(it.msg)
		}
	}
}

// deliver decodes one event (every subscriber decodes its own copy, as a
// network subscriber would) and passes it through the Tracker.
func (s *Subscriber) deliver(m message) {
	u, meta, err := model.DecodeBody(m.body)
	if err != nil {
		s.log.Error("memory: dropping undecodable event", "publisher", m.uri, "err", err)
		return
	}
	gap, isGap, deliver := s.tracker.Observe(meta, m.topic)
	if isGap {
		s.gap(gap)
	}
	if deliver {
		s.onEvent(pubsub.Event{Update: u, Meta: meta, Endpoint: m.uri})
	}
}

// reportOverflow reports dropped events as GapOverflow. When the Tracker
// follows the topic in that epoch, it also advances the Tracker past the
// dropped seqs (through ObserveHeartbeat), so the next event does not report
// the same loss again as GapSeq; otherwise the drops precede the Tracker's
// baseline and are reported with their count.
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
		s.log.Warn("memory: subscriber lost events", "gap", g.String())
		return
	}
	s.onGap(g)
}
