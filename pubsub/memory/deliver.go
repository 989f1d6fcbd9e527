package memory

import (
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

// run is the delivery goroutine: the only caller of the Tracker, OnEvent and
// OnGap. It ends when Close closes s.closing.
func (s *Subscriber) run() {
	defer s.wg.Done()
	s.q.Run(s.closing, deliver.Handler[message]{Event: s.deliver, Overflow: s.sink.Overflow})
}

// deliver decodes one event (every subscriber decodes its own copy, as a
// network subscriber would) and passes it through the Tracker.
func (s *Subscriber) deliver(m message) {
	u, meta, err := model.DecodeBody(m.body)
	if err != nil {
		s.log.Error("memory: dropping undecodable event", "publisher", m.uri, "err", err)
		return
	}
	s.sink.Observe(pubsub.Event{Update: u, Meta: meta, Endpoint: m.uri}, m.topic)
}
