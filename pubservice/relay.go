package pubservice

// relay: the worker → service hop. The PULL delivers the workers' events
// and gaps here, on its one delivery goroutine, in order; the relay
// re-publishes the events under the service's identity and turns every gap
// into resync markers (see the package doc). Only the counters are touched
// from other goroutines.

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

const (
	// maxOriginTopics bounds the topics remembered per worker; beyond it
	// the first-contact rule is not applied to new topics and a gap of all
	// the worker's topics becomes one AllTopics marker.
	maxOriginTopics = 16384
	// maxOrigins bounds the workers remembered; the least recently seen
	// is forgotten first (workers restart with new ids).
	maxOrigins = 1024
)

// origin is what the relay knows of one worker (PUSH peer).
type origin struct {
	epoch    uint64
	topics   map[string]struct{} // topics seen in this epoch
	tooMany  bool                // more than maxOriginTopics
	lastSeen time.Time
}

type relay struct {
	pub     pubsub.Publisher
	service string // the service's publisher id
	log     *slog.Logger
	st      *counters
	origins map[string]*origin // delivery goroutine only
}

func newRelay(pub pubsub.Publisher, service string, log *slog.Logger, st *counters) *relay {
	return &relay{pub: pub, service: service, log: log, st: st, origins: map[string]*origin{}}
}

// onEvent re-publishes a worker's event on its body topic (or "D").
func (r *relay) onEvent(ev pubsub.Event) {
	u := ev.Update
	u.Topic = u.TopicOrDefault()
	if ev.Meta.PublisherID != "" {
		r.observe(ev.Meta, u.Topic)
	}
	if r.publish(u) {
		r.st.relayed.Add(1)
	}
}

// observe records the origin's topic and applies the first-contact rule
// before the event is relayed.
func (r *relay) observe(m model.Meta, topic string) {
	o := r.origins[m.PublisherID]
	if o == nil || o.epoch != m.Epoch {
		o = &origin{epoch: m.Epoch, topics: map[string]struct{}{}}
		r.origins[m.PublisherID] = o
		r.prune()
		r.st.origins.Store(int64(len(r.origins)))
	}
	o.lastSeen = time.Now()
	if _, seen := o.topics[topic]; seen {
		return
	}
	if len(o.topics) >= maxOriginTopics {
		o.tooMany = true
		return
	}
	o.topics[topic] = struct{}{}
	if m.Seq > 1 {
		r.onGap(pubsub.Gap{Reason: FirstContact, PublisherID: m.PublisherID, Topic: topic, Expected: 1, Got: m.Seq})
	}
}

// prune forgets the least recently seen origin beyond maxOrigins.
func (r *relay) prune() {
	if len(r.origins) <= maxOrigins {
		return
	}
	var oldest string
	var at time.Time
	for id, o := range r.origins {
		if oldest == "" || o.lastSeen.Before(at) {
			oldest, at = id, o.lastSeen
		}
	}
	delete(r.origins, oldest)
}

// onGap publishes a resync marker for each topic the gap concerns.
func (r *relay) onGap(g pubsub.Gap) {
	r.st.gaps.inc(string(g.Reason))
	r.st.lost.Add(g.Lost)
	r.log.Warn("events lost on the worker → service hop; asking subscribers to resync", "gap", g.String())
	req := ResyncRequest{
		Reason: g.Reason, Origin: g.PublisherID, Expected: g.Expected, Got: g.Got, Lost: g.Lost, Service: r.service,
	}
	o := r.origins[g.PublisherID]
	if o != nil {
		req.OriginEpoch = o.epoch
	}
	topics := []string{g.Topic}
	if g.Topic == "" {
		topics = []string{AllTopics}
		if o != nil && !o.tooMany && len(o.topics) > 0 {
			topics = slices.Sorted(maps.Keys(o.topics))
		}
	}
	for _, t := range topics {
		req.Topic = t
		u, err := req.update()
		if err != nil {
			r.log.Error("resync marker not published", "err", err)
			continue
		}
		if r.publish(u) {
			r.st.markers.Add(1)
		}
	}
}

// publish sends u on the service's PUB. A failure is counted and logged:
// the seq it consumed shows the loss to subscribers.
func (r *relay) publish(u model.DbUpdate) bool {
	if err := r.pub.Publish(context.Background(), u); err != nil {
		r.st.publishErrors.Add(1)
		r.log.Warn("event not published", "table", u.Table, "key", u.Key, "topic", u.Topic, "err", err)
		return false
	}
	return true
}
