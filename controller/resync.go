package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
)

// Resync reasons, the label of the resyncs metric and ResyncReport.Reason.
// Gaps add "gap-" and the pubsub.GapReason (e.g. "gap-seq").
const (
	ReasonStart        = "start"         // the full sync at start
	ReasonPeriodic     = "periodic"      // every [df] db_sync_time
	ReasonMarker       = "df_resync"     // a publisher service's resync marker
	ReasonNewPublisher = "new-publisher" // discovery connected a publisher
	ReasonFirstContact = "first-contact" // the first event of a publisher had seq > 1
	ReasonTopicAdded   = "topic-added"   // selective topology subscribed a tenant
	ReasonRetry        = "retry"         // a failed resync, again
)

// queue coalesces resync requests: a topic is queued at most once, so a
// burst of gaps on one topic while its resync runs costs one more resync,
// not one per gap. Safe for concurrent use; request never blocks.
type queue struct {
	mu        sync.Mutex
	order     []string          // queued topics, first in first out
	queued    map[string]string // queued topic → reason of its first request
	coalesced uint64
	wake      chan struct{} // one token: something was queued
}

func newQueue() *queue {
	return &queue{queued: map[string]string{}, wake: make(chan struct{}, 1)}
}

// request queues a resync of topic; false when it was already queued.
func (q *queue) request(topic, reason string) bool {
	q.mu.Lock()
	if _, ok := q.queued[topic]; ok {
		q.coalesced++
		q.mu.Unlock()
		return false
	}
	q.queued[topic] = reason
	q.order = append(q.order, topic)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// next takes the first queued topic.
func (q *queue) next() (topic, reason string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return "", "", false
	}
	topic = q.order[0]
	q.order = q.order[1:]
	reason = q.queued[topic]
	delete(q.queued, topic)
	return topic, reason, true
}

// pending returns the number of queued topics and of coalesced requests.
func (q *queue) pending() (int, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order), q.coalesced
}

// ResyncReport describes one finished resync of one topic
// (Config.OnResync).
type ResyncReport struct {
	Topic  string
	Reason string
	Result ResyncResult
	// Err is set when the NB DB could not be listed; the topic is
	// retried with backoff.
	Err error
	// Skipped: the topic was unsubscribed while it was listed.
	Skipped  bool
	Duration time.Duration
}

// requestAll queues a resync of every subscribed topic.
func (c *Controller) requestAll(reason string) {
	for _, t := range c.cache.topicList() {
		c.request(t, reason)
	}
}

// request queues a resync of topic (pubservice.AllTopics or "": every
// subscribed topic).
func (c *Controller) request(topic, reason string) {
	if topic == "" || topic == "*" {
		c.requestAll(reason)
		return
	}
	if !c.cache.hasTopic(topic) {
		return
	}
	c.queue.request(topic, reason)
}

// resyncTopic lists topic's rows of every model table and replaces the
// cache's view of it (cache.applyResync).
func (c *Controller) resyncTopic(ctx context.Context, topic, reason string) ResyncReport {
	began := c.clk.Now()
	rep := ResyncReport{Topic: topic, Reason: reason}
	start := c.cache.begin()
	defer c.cache.end(start)
	filter := topic
	if topic == model.DefaultTopic {
		// Topicless objects (and, without selective topology, every
		// object) are on "D": list everything, keep what belongs there.
		filter = ""
	}
	var rows []row
	for _, table := range model.Tables() {
		kvs, _, err := c.api.DB().List(ctx, table, filter)
		if err != nil {
			rep.Err = fmt.Errorf("controller: resync topic %q: list %s: %w", topic, table, err)
			rep.Duration = c.clk.Now().Sub(began)
			return rep
		}
		for _, kv := range kvs {
			rows = append(rows, row{table: table, key: kv.Key, raw: kv.Value})
		}
	}
	res, ok := c.cache.applyResync(topic, start, rows)
	rep.Result, rep.Skipped = res, !ok
	rep.Duration = c.clk.Now().Sub(began)
	return rep
}

// fullSync resyncs every subscribed topic now, on the caller's goroutine.
func (c *Controller) fullSync(ctx context.Context, reason string) error {
	for _, t := range c.cache.topicList() {
		rep := c.resyncTopic(ctx, t, reason)
		c.recordResync(rep)
		if rep.Err != nil {
			return rep.Err
		}
	}
	return nil
}

// recordResync counts and logs a finished resync and calls the hook.
func (c *Controller) recordResync(rep ResyncReport) {
	switch {
	case rep.Err != nil:
		c.st.resyncErrors.Add(1)
		c.m.resyncErrors.Inc()
		c.log.Warn("resync failed; retrying", "topic", rep.Topic, "reason", rep.Reason, "err", rep.Err)
	case rep.Skipped:
		c.log.Debug("resync dropped: topic unsubscribed meanwhile", "topic", rep.Topic, "reason", rep.Reason)
	default:
		c.st.resyncs.Add(1)
		c.m.resyncs.WithLabelValues(reasonLabel(rep.Reason)).Inc()
		r := rep.Result
		lvl := c.log.Debug
		if r.Added+r.Updated+r.Deleted > 0 && rep.Reason != ReasonStart && rep.Reason != ReasonTopicAdded {
			lvl = c.log.Info // a resync that repaired something
		}
		lvl("resynced topic", "topic", rep.Topic, "reason", rep.Reason, "added", r.Added, "updated", r.Updated,
			"deleted", r.Deleted, "kept", r.Kept, "took", rep.Duration)
	}
	if c.onResync != nil {
		c.onResync(rep)
	}
}
