package controller

import (
	"sync"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Outcomes of events the cache never sees.
const (
	// IgnoredUpdate: action "update" (port status, meant for listeners).
	IgnoredUpdate Outcome = "ignored-update"
	// IgnoredControl: a control action (sync, reinitialize, dbrestart)
	// from the wire that was refused: unauthenticated, not from a
	// neutron-server, or rate-limited (control.go; reference §5.2 item 11).
	IgnoredControl Outcome = "ignored-control"
	// IgnoredLog: action "log", logged at debug level.
	IgnoredLog Outcome = "ignored-log"
	// IgnoredAction: any other unknown action.
	IgnoredAction Outcome = "ignored-action"
	// UnknownTable: a create/set/delete of a table with no model.
	UnknownTable Outcome = "unknown-table"
	// Marker: a publisher service's df_resync marker; a resync was queued.
	Marker Outcome = "resync-marker"
)

// handleEvent is the subscriber's OnEvent: it applies data events to the
// cache, turns resync markers and first contacts into resyncs, and counts
// and ignores the rest.
func (c *Controller) handleEvent(ev pubsub.Event) {
	u := ev.Update
	if r := c.state; r != nil {
		// Position, cache and the snapshot's copy in one order.
		r.mu.Lock()
		defer r.mu.Unlock()
		r.observeLocked(ev)
	}
	c.st.eventsIn.Add(1)
	c.m.received.WithLabelValues(tableLabel(u.Table), actionLabel(u.Action)).Inc()
	if c.contact.first(ev) {
		c.request(c.gapTopic(u.TopicOrDefault()), ReasonFirstContact)
	}
	rec := EventRecord{
		PublisherID: ev.Meta.PublisherID, Epoch: ev.Meta.Epoch, Seq: ev.Meta.Seq, Topic: u.Topic,
		Table: u.Table, Key: u.Key, Action: u.Action,
	}
	if r, ok := pubservice.ParseResync(u); ok {
		c.log.Info("resync marker received", "topic", r.Topic, "reason", r.Reason, "origin", r.Origin, "service", r.Service)
		c.request(r.Topic, ReasonMarker)
		rec.Outcome = Marker
		c.record(rec)
		return
	}
	switch u.Action {
	case model.ActionCreate, model.ActionSet, model.ActionDelete:
		if _, known := model.NewByTable(u.Table); !known {
			rec.Outcome = UnknownTable
			break
		}
		rec.Outcome, rec.Version = c.cache.apply(u)
		if rec.Outcome == Undecodable {
			c.log.Warn("dropping an event whose value does not decode", "table", u.Table, "key", u.Key,
				"publisher", ev.Meta.PublisherID)
		}
	case model.ActionUpdate:
		rec.Outcome = IgnoredUpdate
	case model.ActionLog:
		c.log.Debug("log event", "value", string(u.Value), "publisher", ev.Meta.PublisherID)
		rec.Outcome = IgnoredLog
	case model.ActionSync, model.ActionReinitialize, model.ActionDBRestart:
		rec.Outcome = c.handleControl(ev)
	default:
		rec.Outcome = IgnoredAction
	}
	c.record(rec)
}

// record counts an event's outcome and calls the history hook.
func (c *Controller) record(rec EventRecord) {
	switch rec.Outcome {
	case Applied:
		c.st.applied.Add(1)
	case Marker, ObeyedControl:
	default:
		c.st.ignored.Add(1)
		c.m.ignored.WithLabelValues(string(rec.Outcome)).Inc()
	}
	if c.onEvent != nil {
		c.onEvent(rec)
	}
}

// handleGap is the subscriber's OnGap: every reported loss is repaired by
// a resync of the affected topic, or of every subscribed topic when the
// gap names none.
func (c *Controller) handleGap(g pubsub.Gap) {
	c.st.gaps.Add(1)
	if r := c.state; r != nil {
		r.mu.Lock()
		defer r.mu.Unlock() // the resync request is in the snapshot's pending topics
		r.gapLocked(g)
	}
	c.m.gaps.WithLabelValues(string(g.Reason)).Inc()
	c.log.Info("gap reported; resyncing", "gap", g.String())
	if c.onGap != nil {
		c.onGap(g)
	}
	c.request(c.gapTopic(g.Topic), "gap-"+string(g.Reason))
}

// gapTopic maps the topic of a gap or of a frame to the subscribed topic
// to resync: itself when subscribed, else "" (every topic).
func (c *Controller) gapTopic(topic string) string {
	if topic != "" && c.cache.hasTopic(topic) {
		return topic
	}
	return ""
}

// contacts remembers which (publisher, epoch, topic) streams have
// delivered, to tell a first contact: the first event of a stream with a
// seq above 1 means the publisher sent events before the subscriber was
// connected, which the subscriber cannot report as a gap.
type contacts struct {
	mu   sync.Mutex
	pubs map[string]*stream
}

type stream struct {
	epoch  uint64
	topics map[string]bool
}

func newContacts() *contacts { return &contacts{pubs: map[string]*stream{}} }

// first records ev and reports whether it was the first of its stream with
// a seq above 1.
func (cs *contacts) first(ev pubsub.Event) bool {
	m := ev.Meta
	if m.PublisherID == "" {
		return false // a v1 peer: no sequence numbers
	}
	topic := ev.Update.TopicOrDefault()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	s := cs.pubs[m.PublisherID]
	if s == nil || s.epoch != m.Epoch {
		// A new epoch is reported by the subscriber itself (GapEpoch).
		s = &stream{epoch: m.Epoch, topics: map[string]bool{}}
		cs.pubs[m.PublisherID] = s
	}
	if s.topics[topic] {
		return false
	}
	s.topics[topic] = true
	return m.Seq > 1
}

// seed marks the streams of a resumed publisher as seen: their first
// event has seq > 1 by design; a loss is the subscriber's gap to report.
func (cs *contacts) seed(id string, epoch uint64, topics []string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	s := &stream{epoch: epoch, topics: map[string]bool{}}
	for _, t := range topics {
		s.topics[t] = true
	}
	cs.pubs[id] = s
}

// forgetPublisher drops a publisher's streams (it was disconnected).
func (cs *contacts) forgetPublisher(id string) {
	cs.mu.Lock()
	delete(cs.pubs, id)
	cs.mu.Unlock()
}

// forgetTopic drops the streams of an unsubscribed topic (its resync on
// subscription covers what came before).
func (cs *contacts) forgetTopic(topic string) {
	cs.mu.Lock()
	for _, s := range cs.pubs {
		delete(s.topics, topic)
	}
	cs.mu.Unlock()
}
