// Package deliver is the subscriber side the pub/sub drivers share: a
// bounded delivery queue that never blocks its producer and accounts for
// what it drops (Queue), the delivery goroutine's end of it (Sink: the
// pubsub.Tracker, OnEvent, OnGap, GapOverflow reports), and the
// registered-publisher table of a broker subscriber (Publishers).
//
// It is internal to pubsub: the drivers keep their documented behaviour
// (gap reasons, their order relative to events, drop counting, Close
// semantics); this package only makes one piece of code serve where their
// logic is the same.
package deliver

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Key identifies the dropped events that are reported together: one
// publisher, in one epoch, on one topic.
type Key struct {
	Pub   string
	Epoch uint64
	Topic string
}

// Overflow accounts for the events of one Key dropped since that publisher
// last got an event into the queue: Count events, whose seqs are
// consecutive and end at Last.
type Overflow struct {
	Key
	Count, Last uint64
}

// Item is one queue entry: exactly one of an event (Event, when IsEvent),
// an overflow report, a gap, or a control step.
type Item[E any] struct {
	Event    E
	Overflow *Overflow
	Gap      *pubsub.Gap
	Ctrl     func()
	isEvent  bool
}

// IsEvent reports whether the item is an event (the only kind that counts
// against the queue's bound).
func (it Item[E]) IsEvent() bool { return it.isEvent }

// Queue is a subscriber's bounded delivery queue of events of type E,
// filled by publishers or a receive goroutine and drained by one delivery
// goroutine (Next, Run). Only events count against the bound; the other
// items are few: one per registration change, per reported gap, or per
// Key with drops. Offer never blocks beyond the queue's lock: on a full
// queue the event is dropped and counted, and the drops are reported (an
// Overflow item) before the next queued event of the same publisher, or as
// soon as the queue runs empty.
//
// The zero value is not usable; call NewQueue.
type Queue[E any] struct {
	size    int
	wake    chan struct{} // capacity 1: "items were added"
	dropped atomic.Uint64

	mu      sync.Mutex
	stopped bool
	items   []Item[E]
	events  int // event items in items
	drops   map[Key]*Overflow
}

// NewQueue returns an empty queue holding at most size events (size > 0).
func NewQueue[E any](size int) *Queue[E] {
	return &Queue[E]{size: size, wake: make(chan struct{}, 1), drops: map[Key]*Overflow{}}
}

// Offer queues ev, an event of topic stamped with meta. On a full queue it
// drops ev and counts it under Key{meta.PublisherID, meta.Epoch, topic}.
// Before queuing an event it queues the pending drops of the same
// publisher, so they are reported before it. A no-op after Stop.
func (q *Queue[E]) Offer(ev E, meta model.Meta, topic string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	if q.events >= q.size {
		q.dropped.Add(1)
		k := Key{meta.PublisherID, meta.Epoch, topic}
		d := q.drops[k]
		if d == nil {
			d = &Overflow{Key: k}
			q.drops[k] = d
		}
		d.Count++
		d.Last = meta.Seq
		return
	}
	q.flushLocked(func(k Key) bool { return k.Pub == meta.PublisherID })
	q.events++
	q.pushLocked(Item[E]{Event: ev, isEvent: true})
}

// Report queues a gap; it is never dropped. A no-op after Stop.
func (q *Queue[E]) Report(g pubsub.Gap) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.stopped {
		q.pushLocked(Item[E]{Gap: &g})
	}
}

// Do queues a control step, run on the delivery goroutine in queue order;
// never dropped. A no-op after Stop.
func (q *Queue[E]) Do(ctrl func()) { q.Forget(nil, ctrl) }

// Forget discards the pending (not yet queued) drops which selects (none
// when which is nil), then queues the control step ctrl (if not nil). A
// no-op after Stop.
func (q *Queue[E]) Forget(which func(Key) bool, ctrl func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if which != nil {
		for k := range q.drops {
			if which(k) {
				delete(q.drops, k)
			}
		}
	}
	if ctrl != nil && !q.stopped {
		q.pushLocked(Item[E]{Ctrl: ctrl})
	}
}

// Next returns the next item, waiting for one; false once closing is
// closed. When no item is queued, the pending drops are queued first.
func (q *Queue[E]) Next(closing <-chan struct{}) (Item[E], bool) {
	for {
		select {
		case <-closing:
			return Item[E]{}, false
		default:
		}
		q.mu.Lock()
		if len(q.items) == 0 && len(q.drops) > 0 {
			q.flushLocked(func(Key) bool { return true })
		}
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = Item[E]{}
			q.items = q.items[1:]
			if it.isEvent {
				q.events--
			}
			q.mu.Unlock()
			return it, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-closing:
			return Item[E]{}, false
		}
	}
}

// Handler is what Run does with each kind of item. Gap may be nil for a
// queue that is never given a gap (Report).
type Handler[E any] struct {
	Event    func(E)
	Overflow func(Overflow)
	Gap      func(pubsub.Gap)
}

// Run is a delivery goroutine's loop: it hands every item to h (control
// steps it runs itself), in queue order, until closing is closed.
func (q *Queue[E]) Run(closing <-chan struct{}, h Handler[E]) {
	for {
		it, ok := q.Next(closing)
		switch {
		case !ok:
			return
		case it.Ctrl != nil:
			it.Ctrl()
		case it.Overflow != nil:
			h.Overflow(*it.Overflow)
		case it.Gap != nil:
			h.Gap(*it.Gap)
		default:
			h.Event(it.Event)
		}
	}
}

// Stop makes every later Offer, Report, Do and Forget a no-op and discards
// what is queued and the pending drops. Dropped keeps its count.
func (q *Queue[E]) Stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	q.items, q.events = nil, 0
	clear(q.drops)
}

// Dropped returns how many events Offer has dropped on a full queue.
func (q *Queue[E]) Dropped() uint64 { return q.dropped.Load() }

// flushLocked turns the pending drops selected by which into overflow
// items at the tail of the queue.
func (q *Queue[E]) flushLocked(which func(Key) bool) {
	for k, d := range q.drops {
		if which(k) {
			delete(q.drops, k)
			q.pushLocked(Item[E]{Overflow: d})
		}
	}
}

func (q *Queue[E]) pushLocked(it Item[E]) {
	q.items = append(q.items, it)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// QueueSize checks the parts of cfg every subscriber with a delivery queue
// needs (OnEvent set, QueueSize not negative) and returns the queue's size:
// cfg.QueueSize, or pubsub.DefaultQueueSize when it is 0. name (the
// driver's) prefixes its errors.
func QueueSize(name string, cfg pubsub.SubscriberConfig) (int, error) {
	if cfg.OnEvent == nil {
		return 0, fmt.Errorf("%s: new subscriber: OnEvent is required", name)
	}
	switch size := cfg.QueueSize; {
	case size == 0:
		return pubsub.DefaultQueueSize, nil
	case size < 0:
		return 0, fmt.Errorf("%s: new subscriber: negative QueueSize %d", name, size)
	default:
		return size, nil
	}
}
