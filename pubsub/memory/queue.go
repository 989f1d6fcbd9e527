package memory

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dragonflow-go/dragonflow/model"
)

// message is one published event as offered to subscribers: the body is
// encoded once and shared, read-only. meta is the stamp the publisher wrote
// into the body; the queue reads it only to account for drops — delivery
// decodes the body.
type message struct {
	body  []byte
	uri   string
	topic string
	meta  model.Meta
}

// item is one queue entry: an event, an overflow report, or a control step
// (a tracker reset) run on the delivery goroutine in queue order.
type item struct {
	msg      message
	overflow *overflow
	ctrl     func()
}

func (it item) isEvent() bool { return it.overflow == nil && it.ctrl == nil }

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

// queue is a subscriber's bounded delivery queue and its topic filter,
// filled by publishers and drained by the subscriber's delivery goroutine
// (next). Only events count against the bound; the other items are few: one
// per registration change, one per (publisher, epoch, topic) with drops.
type queue struct {
	size    int
	wake    chan struct{} // capacity 1: "items were added"
	dropped atomic.Uint64

	mu      sync.Mutex
	stopped bool
	topics  []string // sorted, distinct
	items   []item
	events  int // event items in items
	drops   map[dropKey]*overflow
}

func newQueue(size int) queue {
	return queue{size: size, wake: make(chan struct{}, 1), drops: map[dropKey]*overflow{}}
}

// offer queues m if a registered topic matches it. On a full queue it drops
// m and counts it; the drops are reported (as an overflow item) before the
// next queued event of the same publisher, or as soon as the queue runs
// empty. Never blocks beyond the queue's lock.
func (q *queue) offer(m message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped || !matchAny(q.topics, m.topic) {
		return
	}
	if q.events >= q.size {
		q.dropped.Add(1)
		k := dropKey{m.meta.PublisherID, m.meta.Epoch, m.topic}
		d := q.drops[k]
		if d == nil {
			d = &overflow{dropKey: k}
			q.drops[k] = d
		}
		d.count++
		d.last = m.meta.Seq
		return
	}
	q.flushDropsLocked(func(k dropKey) bool { return k.pub == m.meta.PublisherID })
	q.events++
	q.pushLocked(item{msg: m})
}

// forgetPublisher discards the pending drops of pub and queues forget.
func (q *queue) forgetPublisher(pub string, forget func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k := range q.drops {
		if k.pub == pub {
			delete(q.drops, k)
		}
	}
	q.pushLocked(item{ctrl: forget})
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
		case <-closing:
			return item{}, false
		}
	}
}

// flushDropsLocked turns the pending drops selected by which into overflow
// reports at the tail of the queue.
func (q *queue) flushDropsLocked(which func(dropKey) bool) {
	for k, d := range q.drops {
		if !which(k) {
			continue
		}
		delete(q.drops, k)
		q.items = append(q.items, item{overflow: d})
	}
}

func (q *queue) pushLocked(it item) {
	q.items = append(q.items, it)
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// stop makes every later offer a no-op and discards what is queued.
func (q *queue) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	q.items, q.events = nil, 0
	clear(q.drops)
}

func (q *queue) addTopic(topic string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i, found := slices.BinarySearch(q.topics, topic); !found {
		q.topics = slices.Insert(q.topics, i, topic)
	}
}

// removeTopic unregisters topic and, if it was registered, queues
// forget(the topics that remain).
func (q *queue) removeTopic(topic string, forget func(remaining []string)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, found := slices.BinarySearch(q.topics, topic)
	if !found {
		return
	}
	q.topics = slices.Delete(q.topics, i, i+1)
	remaining := slices.Clone(q.topics)
	q.pushLocked(item{ctrl: func() { forget(remaining) }})
}

func (q *queue) topicList() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.topics)
}
