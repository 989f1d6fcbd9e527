package pubsubtest

import (
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

func init() {
	register("UnregisterPublisher", testUnregisterPublisher)
	register("DedupByPublisherID", testDedupByPublisherID)
}

// UnregisterPublisher: unregistering an unknown id, or one twice, fails with
// ErrUnknownPublisher. Once UnregisterPublisher has returned, the
// publisher's events stop while another publisher's continue; registering
// it again delivers it again, and what it sent while unregistered never
// arrives.
func testUnregisterPublisher(e *env) {
	p1, p2 := e.publisher("p1"), e.publisher("p2")
	topic := e.topic("a")
	s := e.subscriber(subOptions{topics: []string{topic}}, p1, p2)
	e.barrier(s, p1, topic)
	m2 := e.barrier(s, p2, topic)

	require.ErrorIs(e.t, s.UnregisterPublisher("pubsubtest-"+e.nonce+"-never"), pubsub.ErrUnknownPublisher)
	require.NoError(e.t, s.UnregisterPublisher(p1.info.ID))
	require.ErrorIs(e.t, s.UnregisterPublisher(p1.info.ID), pubsub.ErrUnknownPublisher, "unregistering twice")
	unregistered := len(s.snapshot())
	e.publish(p1, updates("while-unregistered", 10, topic)...)
	still := e.send(s, p2, topic, m2, updates("still-registered", 10, topic))
	for i, en := range s.snapshot()[unregistered:] {
		require.False(e.t, en.ev != nil && en.ev.Meta.PublisherID == p1.info.ID,
			"entry %d: an event of a publisher unregistered before it was sent", unregistered+i)
	}

	e.connect(s, p1, p1.info.URI)
	again := e.send(s, p1, topic, e.barrier(s, p1, topic), updates("registered-again", 10, topic))
	ents := e.close(s)

	e.requireRun(ents, still)
	e.requireRun(ents, again)
	for _, k := range keys(ents) {
		require.NotContains(e.t, k, "while-unregistered")
	}
	e.requireNoDuplicates(ents)
}

// DedupByPublisherID: registering a publisher's id again under a second URI
// (Harness.AliasURI, else the same URI) and then once more under the same
// one never makes it deliver twice: 100 events arrive exactly once, through
// the URI registered last.
func testDedupByPublisherID(e *env) {
	p, topic, s := e.pair(subOptions{})
	e.barrier(s, p, topic)
	alias := p.info.URI
	if e.h.AliasURI != nil {
		if u := e.h.AliasURI(p.info.URI); u != "" {
			alias = u
		}
	}
	e.connect(s, p, alias)
	e.connect(s, p, alias)
	once := e.send(s, p, topic, e.barrier(s, p, topic), updates("once", 100, topic))
	once.endpoint = alias
	ents := e.close(s)

	e.requireRun(ents, once)
	e.requireNoDuplicates(ents)
	require.Equal(e.t, sentKeys(once.want), keys(ents), "test events")
}
