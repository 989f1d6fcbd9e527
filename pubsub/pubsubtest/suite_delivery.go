package pubsubtest

import (
	"sync"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
)

func init() {
	register("ExactCount", testExactCount)
	register("OrderAcrossTopics", testOrderAcrossTopics)
	register("TwoPublishers", testTwoPublishers)
}

// ExactCount: 100 events, then 1000 back to back, arrive exactly once each,
// intact (table, key, action, value, topic), with the publisher's id and
// epoch, consecutive seqs, a publish time and the publisher's URI as
// Endpoint; nothing else arrives and no gap is reported.
func testExactCount(e *env) {
	p, topic, s := e.pair(subOptions{})
	hundred := e.send(s, p, topic, e.barrier(s, p, topic), updates("hundred", 100, topic))
	thousand := e.send(s, p, topic, hundred.to, updates("thousand", 1000, topic))
	ents := e.close(s)

	e.requireRun(ents, hundred)
	e.requireRun(ents, thousand)
	last := thousand.to.pos
	require.Len(e.t, ents, last+1, "entries after the last barrier: %v", keys(ents[last+1:]))
	e.requireNoDuplicates(ents)
}

// OrderAcrossTopics: events one publisher sends on three topics arrive in
// the order they were sent, not only in order per topic.
func testOrderAcrossTopics(e *env) {
	p := e.publisher("p")
	topics := []string{e.topic("a"), e.topic("b"), e.topic("c")}
	s := e.subscriber(subOptions{topics: topics}, p)
	starts := make([]mark, len(topics))
	for i, topic := range topics {
		starts[i] = e.barrier(s, p, topic)
	}
	var sent []model.DbUpdate
	perTopic := make([][]model.DbUpdate, len(topics))
	for i, u := range updates("ordered", 300, "") {
		k := i % len(topics)
		u.Topic = topics[k]
		sent = append(sent, u)
		perTopic[k] = append(perTopic[k], u)
	}
	e.publish(p, sent...)
	end := e.barrier(s, p, topics[0])
	ents := e.close(s)

	for i, topic := range topics {
		e.requireRun(ents, run{p: p, endpoint: p.info.URI, topic: topic, from: starts[i], to: end, want: perTopic[i]})
	}
	require.Equal(e.t, sentKeys(sent), keys(ents[starts[len(topics)-1].pos+1:end.pos]),
		"events of one publisher on several topics arrive in the order sent")
}

// TwoPublishers: two publishers sending concurrently to one subscriber are
// both delivered completely, each in its own seq order, each event with its
// sender's id, epoch and URI.
func testTwoPublishers(e *env) {
	p1, p2 := e.publisher("p1"), e.publisher("p2")
	topic := e.topic("a")
	s := e.subscriber(subOptions{topics: []string{topic}}, p1, p2)
	m1 := e.barrier(s, p1, topic)
	m2 := e.barrier(s, p2, topic)
	sent1, sent2 := updates("one", 100, topic), updates("two", 100, topic)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, job := range []struct {
		p    *pub
		sent []model.DbUpdate
	}{{p1, sent1}, {p2, sent2}} {
		wg.Go(func() {
			for _, u := range job.sent {
				if errs[i] = job.p.Publish(e.ctx, u); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(e.t, errs[0], "publish as p1")
	require.NoError(e.t, errs[1], "publish as p2")
	e1 := e.barrier(s, p1, topic)
	e2 := e.barrier(s, p2, topic)
	ents := e.close(s)

	e.requireRun(ents, run{p: p1, endpoint: p1.info.URI, topic: topic, from: m1, to: e1, want: sent1})
	e.requireRun(ents, run{p: p2, endpoint: p2.info.URI, topic: topic, from: m2, to: e2, want: sent2})
	e.requireNoDuplicates(ents)
}
