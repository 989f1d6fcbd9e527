package etcd

import (
	"sync"
	"sync/atomic"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// item is one entry of the delivery queue: an event, an overflow report,
// or a gap (a compacted topic history, an undecodable value).
type item struct {
	ev       pubsub.Event
	topic    string
	watch    *topicWatch // the watch the event came from
	gen      uint64      // the publisher's registration
	overflow *overflow
	gap      *pubsub.Gap
}

func (it *item) isEvent() bool { return it.overflow == nil && it.gap == nil }

type dropKey struct {
	pub   string
	epoch uint64
	topic string
}

// overflow accounts for the events of one (publisher, epoch, topic) dropped
// since that publisher last got an event into the queue: their seqs are
// consecutive and end at last.
type overflow struct {
	dropKey
	count, last uint64
}

// queue is the subscriber's bounded delivery queue, filled by the merge
// goroutine (never blocking it) and drained by the delivery goroutine.
// Only events count against the bound; the other items are few.
type queue struct {
	size    int
	wake    chan struct{} // capacity 1: "items were added"
	dropped atomic.Uint64

	mu     sync.Mutex
	items  []item
	events int
	drops  map[dropKey]*overflow
}

func newQueue(size int) *queue {
	return &queue{size: size, wake: make(chan struct{}, 1), drops: map[dropKey]*overflow{}}
}

// offer queues an event item. On a full queue it drops it and counts it;
// the drops are reported (as an overflow item) before the next queued
// event of the same publisher, or as soon as the queue runs empty.
func (q *queue) offer(it item) {
	m := it.ev.Meta
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.events >= q.size {
		q.dropped.Add(1)
		k := dropKey{m.PublisherID, m.Epoch, it.topic}
		d := q.drops[k]
		if d == nil {
			d = &overflow{dropKey: k}
			q.drops[k] = d
		}
		d.count++
		d.last = m.Seq
		return
	}
	q.flushDropsLocked(func(k dropKey) bool { return k.pub == m.PublisherID })
	q.events++
	q.pushLocked(it)
}

// report queues a gap; it is never dropped.
func (q *queue) report(g pubsub.Gap) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pushLocked(item{gap: &g})
}

// next returns the next item, waiting for one; false once stop is closed.
func (q *queue) next(stop <-chan struct{}) (item, bool) {
	for {
		select {
		case <-stop:
			return item{}, false
		default:
		}
		q.mu.Lock()
		if len(q.items) == 0 && len(q.drops) > 0 {
			q.flushDropsLocked(func(dropKey) bool { return true })
		}
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = item{}
			q.items = q.items[1:]
			if it.isEvent() {
				q.events--
			}
			q.mu.Unlock()
			return it, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-stop:
			return item{}, false
		}
	}
}

// flushDropsLocked turns the pending drops selected by which into overflow
// reports at the tail of the queue.
func (q *queue) flushDropsLocked(which func(dropKey) bool) {
	for k, d := range q.drops {
		if which(k) {
			delete(q.drops, k)
			q.pushLocked(item{overflow: d})
		}
	}
}

func (q *queue) pushLocked(it item) {
	q.items = append(q.items, it)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
