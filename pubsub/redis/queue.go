package redis

import (
	"sync"
	"sync/atomic"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// item is one queue entry: an event, a gap, an overflow report, or a
// control step run on the delivery goroutine in queue order.
type item struct {
	ev    *pubsub.Event
	topic string // the channel the event arrived on
	gap   *pubsub.Gap
	over  *overflow
	ctrl  func()
}

type dropKey struct {
	pub   string
	epoch uint64
	topic string
}

// overflow accounts for the events of one (publisher, epoch, topic)
// dropped since that publisher last got an event into the queue: their
// seqs are consecutive and end at last.
type overflow struct {
	dropKey
	count, last uint64
}

// queue is the subscriber's bounded delivery queue, filled by the receive
// goroutine and drained by the delivery goroutine. Only events count
// against the bound (the other items are one per registration change,
// reconnect, or (publisher, epoch, topic) with drops). It never blocks
// the receive goroutine: on a full queue an event is dropped and counted,
// and the drops are reported (GapOverflow) before the next queued event of
// the same publisher, or as soon as the queue runs empty.
type queue struct {
	size    int
	wake    chan struct{} // capacity 1: "items were added"
	dropped atomic.Uint64

	mu      sync.Mutex
	stopped bool
	items   []item
	events  int // event items in items
	drops   map[dropKey]*overflow
}

func newQueue(size int) *queue {
	return &queue{size: size, wake: make(chan struct{}, 1), drops: map[dropKey]*overflow{}}
}

// offer queues an event, or drops and counts it when the queue is full.
func (q *queue) offer(ev *pubsub.Event, topic string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	if q.events >= q.size {
		q.dropped.Add(1)
		k := dropKey{ev.Meta.PublisherID, ev.Meta.Epoch, topic}
		d := q.drops[k]
		if d == nil {
			d = &overflow{dropKey: k}
			q.drops[k] = d
		}
		d.count++
		d.last = ev.Meta.Seq
		return
	}
	q.flushLocked(func(k dropKey) bool { return k.pub == ev.Meta.PublisherID })
	q.events++
	q.pushLocked(item{ev: ev, topic: topic})
}

// push queues a gap or a control step; never dropped.
func (q *queue) push(it item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.stopped {
		q.pushLocked(it)
	}
}

// forget discards the pending drops forget selects, then queues ctrl.
func (q *queue) forget(which func(dropKey) bool, ctrl func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k := range q.drops {
		if which(k) {
			delete(q.drops, k)
		}
	}
	if !q.stopped {
		q.pushLocked(item{ctrl: ctrl})
	}
}

// next returns the next item, waiting for one; false once closing is closed.
func (q *queue) next(closing <-chan struct{}) (item, bool) {
	for {
		select {
		case <-closing:
			return item{}, false
		default:
		}
		q.mu.Lock()
		if len(q.items) == 0 && len(q.drops) > 0 {
			q.flushLocked(func(dropKey) bool { return true })
		}
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = item{}
			q.items = q.items[1:]
			if it.ev != nil {
				q.events--
			}
			q.mu.Unlock()
			return it, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-closing:
			return item{}, false
		}
	}
}

// flushLocked turns the pending drops selected by which into overflow
// reports at the tail of the queue.
func (q *queue) flushLocked(which func(dropKey) bool) {
	for k, d := range q.drops {
		if which(k) {
			delete(q.drops, k)
			q.pushLocked(item{over: d})
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

// stop makes every later offer and push a no-op and discards the queue.
func (q *queue) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	q.items, q.events = nil, 0
	clear(q.drops)
}
