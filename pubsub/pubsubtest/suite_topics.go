package pubsubtest

import (
	"slices"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
)

func init() {
	register("TopicFiltering", testTopicFiltering)
	register("RegisterUnregisterTopic", testRegisterUnregisterTopic)
	register("NoFalseGapOnTopicSubset", testNoFalseGapOnTopicSubset)
}

// TopicFiltering: a subscriber gets its registered topics only. An
// unregistered topic, and a topic that is a proper prefix of a registered
// one, never arrive; a topic a registered one is a prefix of arrives if and
// only if Harness.PrefixTopics. An event with an empty topic travels on
// model.DefaultTopic and arrives with its empty Topic intact. Ordering per
// publisher makes the closing barrier prove the absences.
func testTopicFiltering(e *env) {
	p := e.publisher("p")
	a, pfx := e.topic("a"), e.topic("pfx")
	s := e.subscriber(subOptions{topics: []string{pfx, model.DefaultTopic, a}}, p)
	want := []string{pfx, model.DefaultTopic, a}
	slices.Sort(want)
	require.Equal(e.t, want, s.Topics(), "Topics() lists the registered topics, sorted")
	e.barrier(s, p, a)
	e.barrier(s, p, pfx)
	start := e.barrier(s, p, model.DefaultTopic)

	sent := []model.DbUpdate{
		{Table: model.TableLogicalPort, Key: "unregistered", Action: model.ActionSet, Value: []byte("1"), Topic: e.topic("other")},
		{Table: model.TableLogicalPort, Key: "under-prefix", Action: model.ActionSet, Value: []byte("2"), Topic: pfx + ".sub"},
		{Table: model.TableLogicalPort, Key: "shorter", Action: model.ActionSet, Value: []byte("3"), Topic: pfx[:len(pfx)-1]},
		{Table: model.TableLogicalPort, Key: "default", Action: model.ActionSet, Value: []byte("4")},
		{Table: model.TableLogicalPort, Key: "registered", Action: model.ActionSet, Value: []byte("5"), Topic: a},
	}
	e.publish(p, sent...)
	end := e.barrier(s, p, a)
	ents := e.close(s)

	wantKeys := []string{"default", "registered"}
	if e.h.PrefixTopics {
		wantKeys = []string{"under-prefix", "default", "registered"}
	}
	got := ents[start.pos+1 : end.pos]
	require.Equal(e.t, wantKeys, keys(got), "prefix topics: %v", e.h.PrefixTopics)
	for _, en := range got {
		if en.ev != nil && en.ev.Update.Key == "default" {
			require.Equal(e.t, sent[3], en.ev.Update, "an event sent with an empty topic")
		}
		require.Nil(e.t, en.gap, "no gap for events of other topics")
	}
}

// RegisterUnregisterTopic: a topic registered at run time is delivered; once
// UnregisterTopic has returned, an event on it is not delivered even though
// an event on a still-registered topic sent after it is; registering it
// again delivers it again, with no (false) gap for what was sent while it
// was unregistered. Register is idempotent, unregistering an unknown topic
// is a no-op, and Topics() follows.
func testRegisterUnregisterTopic(e *env) {
	p, a, s := e.pair(subOptions{})
	b := e.topic("b")
	start := e.barrier(s, p, a)

	require.NoError(e.t, s.RegisterTopic(b))
	require.NoError(e.t, s.RegisterTopic(b), "RegisterTopic is idempotent")
	require.Equal(e.t, []string{a, b}, s.Topics())
	firstB := e.send(s, p, b, e.barrier(s, p, b), updates("b-first", 5, b))

	require.NoError(e.t, s.UnregisterTopic(b))
	require.NoError(e.t, s.UnregisterTopic(e.topic("never")), "unregistering an unknown topic is a no-op")
	require.Equal(e.t, []string{a}, s.Topics())
	e.publish(p, model.DbUpdate{Table: model.TableLogicalPort, Key: "while-unregistered", Action: model.ActionSet, Topic: b})
	e.barrier(s, p, a)

	require.NoError(e.t, s.RegisterTopic(b))
	againB := e.send(s, p, b, e.barrier(s, p, b), updates("b-again", 5, b))
	ents := e.close(s)

	e.requireRun(ents, firstB)
	e.requireRun(ents, againB)
	require.NotContains(e.t, keys(ents), "while-unregistered", "an event on a topic unregistered before it was sent")
	for i, en := range ents[start.pos+1:] {
		require.Nil(e.t, en.gap, "entry %d: no gap when a topic is unregistered and registered again", start.pos+1+i)
	}
	e.requireNoDuplicates(ents)
}

// NoFalseGapOnTopicSubset: a publisher interleaves a registered topic with
// one the subscriber never registered; seqs count per topic, so the
// registered topic arrives complete, consecutive and without any gap.
func testNoFalseGapOnTopicSubset(e *env) {
	p, a, s := e.pair(subOptions{})
	b := e.topic("b")
	start := e.barrier(s, p, a)
	onA, onB := updates("on-a", 50, a), updates("on-b", 50, b)
	for i := range onA {
		e.publish(p, onA[i], onB[i])
	}
	r := run{p: p, endpoint: p.info.URI, topic: a, from: start, to: e.barrier(s, p, a), want: onA}
	ents := e.close(s)

	e.requireRun(ents, r)
	require.Equal(e.t, sentKeys(onA), keys(ents[start.pos+1:r.to.pos]), "only the registered topic arrives")
}
