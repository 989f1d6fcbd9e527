package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
// not one per gap. A request may be due later (Config.ResyncJitter): the
// topic waits in the queue until then, and requests of that topic
// meanwhile coalesce into it (an earlier due time wins). Safe for
// concurrent use; request never blocks.
type queue struct {
	mu        sync.Mutex
	order     []string          // queued topics, first in first out
	queued    map[string]queued // queued topic → its first request
	coalesced uint64
	wake      chan struct{} // one token: something was queued or became due sooner
}

// queued is one queued topic: the reason of its first request, when it
// was requested and when it is due (zero: at once).
type queued struct {
	reason    string
	requested time.Time
	due       time.Time
}

func newQueue() *queue {
	return &queue{queued: map[string]queued{}, wake: make(chan struct{}, 1)}
}

// request queues a resync of topic, due at once; false when it was already
// queued.
func (q *queue) request(topic, reason string) bool {
	return q.requestAt(topic, reason, time.Time{}, time.Time{})
}

// requestAt queues a resync of topic requested at now, due at due (zero:
// at once); false when it was already queued (its due time is brought
// forward to due if that is sooner).
func (q *queue) requestAt(topic, reason string, now, due time.Time) bool {
	q.mu.Lock()
	if e, ok := q.queued[topic]; ok {
		q.coalesced++
		sooner := e.due.After(due)
		if sooner {
			e.due = due
			q.queued[topic] = e
		}
		q.mu.Unlock()
		if sooner {
			q.signal()
		}
		return false
	}
	q.queued[topic] = queued{reason: reason, requested: now, due: due}
	q.order = append(q.order, topic)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next takes the first queued topic that is due at now.
func (q *queue) next() (topic, reason string, ok bool) {
	topic, e, ok, _ := q.nextDue(time.Time{})
	return topic, e.reason, ok
}

// nextDue takes the first queued topic due at now (a zero now takes only
// topics due at once); when none is, wait is the earliest due time of the
// waiting ones (zero when nothing waits).
func (q *queue) nextDue(now time.Time) (topic string, e queued, ok bool, wait time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, t := range q.order {
		e := q.queued[t]
		if e.due.IsZero() || (!now.IsZero() && !e.due.After(now)) {
			q.order = append(q.order[:i:i], q.order[i+1:]...)
			delete(q.queued, t)
			return t, e, true, time.Time{}
		}
		if wait.IsZero() || e.due.Before(wait) {
			wait = e.due
		}
	}
	return "", queued{}, false, wait
}

// topics returns the queued topics.
func (q *queue) topics() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.order)
}

// pending returns the number of queued topics and of coalesced requests.
func (q *queue) pending() (int, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order), q.coalesced
}

// SyncLimit caps the resyncs running at once across the controllers that
// share it (Config.SyncLimit): many controllers in one process, or one
// process's view of a publisher restart, never list the NB DB all at
// once. Safe for concurrent use.
type SyncLimit struct {
	slots chan struct{}
	mu    sync.Mutex
	inUse int
	peak  int
	waits uint64
}

// NewSyncLimit returns a limit of n resyncs at once (n < 1 is 1).
func NewSyncLimit(n int) *SyncLimit {
	return &SyncLimit{slots: make(chan struct{}, max(n, 1))}
}

// acquire takes a slot, waiting for one until ctx ends.
func (l *SyncLimit) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
	default:
		l.mu.Lock()
		l.waits++
		l.mu.Unlock()
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l.mu.Lock()
	l.inUse++
	l.peak = max(l.peak, l.inUse)
	l.mu.Unlock()
	return nil
}

func (l *SyncLimit) release() {
	l.mu.Lock()
	l.inUse--
	l.mu.Unlock()
	<-l.slots
}

// Cap is the number of resyncs allowed at once.
func (l *SyncLimit) Cap() int { return cap(l.slots) }

// Peak is the largest number of resyncs that ran at once.
func (l *SyncLimit) Peak() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peak
}

// Waits counts the resyncs that had to wait for a slot.
func (l *SyncLimit) Waits() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waits
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
	// Delayed is how long the request waited before it was due
	// (Config.ResyncJitter); Waited how long the resync waited for a
	// Config.SyncLimit slot. Duration includes Waited.
	Delayed, Waited time.Duration
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
	if c.resyncJitter > 0 && spread(reason) {
		now := c.clk.Now()
		c.queue.requestAt(topic, reason, now, now.Add(time.Duration(rand.Int64N(int64(c.resyncJitter)+1))))
		return
	}
	c.queue.request(topic, reason)
}

// spread reports whether a resync of reason is delayed by
// Config.ResyncJitter: the ones every subscriber of a publisher asks for
// at the same moment (a gap, a restarted or new publisher, a first
// contact, a df_resync marker). The start sync, a new tenant topic, the
// periodic sync (jittered itself) and retries (backed off) are not.
func spread(reason string) bool {
	switch reason {
	case ReasonNewPublisher, ReasonFirstContact, ReasonMarker:
		return true
	}
	return strings.HasPrefix(reason, "gap-")
}

// resyncTopic lists topic's rows of every model table and replaces the
// cache's view of it (cache.applyResync).
func (c *Controller) resyncTopic(ctx context.Context, topic, reason string) ResyncReport {
	began := c.clk.Now()
	rep := ResyncReport{Topic: topic, Reason: reason}
	if c.syncLimit != nil {
		if err := c.syncLimit.acquire(ctx); err != nil {
			rep.Err = fmt.Errorf("controller: resync topic %q: wait for a sync slot: %w", topic, err)
			rep.Duration = c.clk.Now().Sub(began)
			return rep
		}
		defer c.syncLimit.release()
		rep.Waited = c.clk.Now().Sub(began)
	}
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
	if c.state != nil {
		c.state.changed.Add(1)
	}
	if c.onResync != nil {
		c.onResync(rep)
	}
}
