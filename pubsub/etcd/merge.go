package etcd

import (
	"context"
	"math"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Merge timing. While the merge waits for an idle topic's watch to show
// progress, it asks etcd for the progress of every watch (one request on
// the subscriber's watch stream), again after progressRetryMin doubling to
// progressRetryMax while the answer does not come (etcd answers only when
// every watch of the stream is in sync). After holdMax it gives up on
// ordering across topics for what is pending: a topic whose watch is
// broken must not hold the others back.
const (
	progressRetryMin = 20 * time.Millisecond
	progressRetryMax = 320 * time.Millisecond
	holdMax          = 2 * time.Second
)

// merge is the merge goroutine. Each topic's watch delivers its key's
// Puts in revision order, but the watches are independent channels; merge
// delivers them in global revision order, so one publisher's events arrive
// in the order it sent them across topics. An entry at revision R is
// released once every registered topic's watch has received everything up
// to R (its mark): from its own events, or from a progress notification
// etcd sends on request.
func (s *Subscriber) merge() {
	defer s.wg.Done()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	var (
		wait         time.Duration // current retry interval; 0: not waiting
		blockedSince time.Time
	)
	for {
		force := false
		select {
		case <-s.life.Done():
			retry.Stop()
			return
		case m := <-s.in:
			s.absorb(m)
		case <-s.kick:
		case <-retry.C:
			if time.Since(blockedSince) >= holdMax {
				force = true
				s.log.Warn("etcd: a topic watch shows no progress; delivering without waiting for it",
					"waited", time.Since(blockedSince).Round(time.Millisecond))
			}
			wait = min(2*wait, progressRetryMax)
			s.signal(s.askc)
			retry.Reset(wait)
		}
		if !s.release(force) {
			if wait != 0 {
				retry.Stop()
				wait = 0
			}
			continue
		}
		if wait == 0 { // newly blocked
			blockedSince = time.Now()
			wait = progressRetryMin
			s.signal(s.askc)
			retry.Reset(wait)
		}
	}
}

// absorb records what a watch received, if the watch is still registered.
func (s *Subscriber) absorb(m watchMsg) {
	s.mu.Lock()
	current := s.topics[m.tw.topic] == m.tw
	s.mu.Unlock()
	if !current {
		return
	}
	m.tw.pending = append(m.tw.pending, m.entries...)
	m.tw.mark = max(m.tw.mark, m.mark)
	if m.mark > s.seen.Load() {
		s.seen.Store(m.mark)
	}
}

// release emits every pending entry that is in order, smallest revision
// first (with force: every pending entry), and reports whether entries are
// left waiting for another topic's progress.
func (s *Subscriber) release(force bool) (blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		var head *topicWatch
		low := int64(math.MaxInt64)
		for _, tw := range s.topics {
			low = min(low, tw.mark)
			if len(tw.pending) > 0 && (head == nil || tw.pending[0].rev < head.pending[0].rev) {
				head = tw
			}
		}
		if head == nil {
			return false
		}
		if e := head.pending[0]; e.rev > low && !force {
			return true
		}
		e := head.pending[0]
		head.pending[0] = entry{}
		head.pending = head.pending[1:]
		s.emitLocked(head, e)
	}
}

// emitLocked decodes one entry, filters it on registered publishers and
// offers it to the delivery queue. s.mu is held.
func (s *Subscriber) emitLocked(tw *topicWatch, e entry) {
	if e.gap != nil {
		s.q.Report(*e.gap)
		return
	}
	u, meta, err := model.DecodeBody(e.value)
	if err != nil {
		s.q.Report(pubsub.Gap{Reason: pubsub.GapMalformed, Topic: tw.topic, Err: err})
		return
	}
	ev := event{ev: pubsub.Event{Update: u, Meta: meta}, topic: tw.topic, watch: tw}
	if meta.PublisherID != "" {
		r, ok := s.pubs.Get(meta.PublisherID)
		if !ok || e.rev <= r.Fence {
			return // not registered, or sent before it was registered
		}
		ev.ev.Endpoint, ev.gen = r.URI, r.Gen
	}
	s.q.Offer(ev, meta, tw.topic)
}

// progress is the progress goroutine: on each request of the merge
// goroutine it asks etcd to send every watch of the subscriber's stream a
// progress notification. A request etcd cannot answer (a watch not in
// sync, a stream reconnecting) is dropped; the merge asks again.
func (s *Subscriber) progress() {
	defer s.wg.Done()
	// The watches' streams are keyed by outgoing metadata: the same
	// WithRequireLeader makes the request go to their stream.
	ctx := clientv3.WithRequireLeader(s.life)
	for {
		select {
		case <-s.life.Done():
			return
		case <-s.askc:
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := s.cli.RequestProgress(rctx); err != nil && s.life.Err() == nil {
			s.log.Debug("etcd: watch progress request failed", "err", err)
		}
		cancel()
	}
}
