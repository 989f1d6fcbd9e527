package deliver

import (
	"log/slog"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Sink is the delivery goroutine's end of a subscriber: the only user of
// its pubsub.Tracker and the only caller of OnEvent and OnGap. None of its
// methods may be called from another goroutine.
type Sink struct {
	// Tracker is the subscriber's; drivers call its Forget methods
	// directly (from the delivery goroutine).
	Tracker *pubsub.Tracker

	name    string
	log     *slog.Logger
	onEvent func(pubsub.Event)
	onGap   func(pubsub.Gap)

	lastGen map[string]uint64 // publisher → registration its tracker state is from
	lastReg map[string]any    // topic → registration of its last event
}

// NewSink returns a sink with a new Tracker. name (the driver's) prefixes
// its log messages; log nil discards them; onGap nil logs gaps as warnings.
func NewSink(name string, log *slog.Logger, onEvent func(pubsub.Event), onGap func(pubsub.Gap)) *Sink {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{
		Tracker: pubsub.NewTracker(),
		name:    name,
		log:     log,
		onEvent: onEvent,
		onGap:   onGap,
		lastGen: map[string]uint64{},
		lastReg: map[string]any{},
	}
}

// Gap reports g to OnGap, or logs it when the subscriber has none.
func (s *Sink) Gap(g pubsub.Gap) {
	if s.onGap == nil {
		s.log.Warn(s.name+": subscriber lost events", "gap", g.String())
		return
	}
	s.onGap(g)
}

// Observe runs ev, received on topic, through the Tracker: it reports the
// gap the event reveals, if any, then delivers the event unless the
// Tracker says it is stale.
func (s *Sink) Observe(ev pubsub.Event, topic string) {
	gap, isGap, deliver := s.Tracker.Observe(ev.Meta, topic)
	if isGap {
		s.Gap(gap)
	}
	if deliver {
		s.onEvent(ev)
	}
}

// Overflow reports dropped events as GapOverflow. When the Tracker follows
// the topic in that epoch, it also advances the Tracker past the dropped
// seqs (through ObserveHeartbeat), so the next event does not report the
// same loss again as GapSeq; otherwise the drops precede the Tracker's
// baseline and are reported with their count.
func (s *Sink) Overflow(o Overflow) {
	g, tracked := s.Tracker.ObserveHeartbeat(o.Pub, o.Epoch, o.Topic, o.Last)
	if tracked {
		g.Reason = pubsub.GapOverflow
	} else {
		g = pubsub.Gap{Reason: pubsub.GapOverflow, PublisherID: o.Pub, Topic: o.Topic, Lost: o.Count}
	}
	s.Gap(g)
}

// PublisherGen is called before an event of publisher id (not "") that
// registration gen let through: when id was registered anew since its last
// event, the Tracker forgets it, so it starts from a new baseline instead
// of a false gap.
func (s *Sink) PublisherGen(id string, gen uint64) {
	if g, ok := s.lastGen[id]; ok && g != gen {
		s.Tracker.Forget(id)
	}
	s.lastGen[id] = gen
}

// TopicReg is called before an event of topic received through
// registration reg (comparable: e.g. the pointer to the topic's watch or
// subscription): when the topic was registered anew since its last event,
// the Tracker forgets the topic, so what was sent in between is no false
// gap.
func (s *Sink) TopicReg(topic string, reg any) {
	if last, ok := s.lastReg[topic]; !ok || last != reg {
		if ok {
			s.Tracker.ForgetTopics(func(t string) bool { return t == topic })
		}
		s.lastReg[topic] = reg
	}
}
