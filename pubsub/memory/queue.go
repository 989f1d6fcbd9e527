package memory

import (
	"slices"
	"sync"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
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

// queue is a subscriber's topic filter in front of its bounded delivery
// queue (deliver.Queue), filled by publishers and drained by the
// subscriber's delivery goroutine. Filtering is on the publisher side, as
// libzmq's PUB socket: mu is held across the match and the insert, and by
// removeTopic, so an event offered after removeTopic returns is never
// queued, and the Tracker reset removeTopic queues comes after every event
// of the topic already queued.
type queue struct {
	*deliver.Queue[message]

	mu     sync.Mutex // guards topics; taken before the queue's own lock
	topics []string   // sorted, distinct
}

func newQueue(size int) *queue {
	return &queue{Queue: deliver.NewQueue[message](size)}
}

// offer queues m if a registered topic matches it (see deliver.Queue.Offer:
// on a full queue m is dropped, counted, and reported as a GapOverflow
// before the next queued event of the same publisher, or as soon as the
// queue runs empty). Never blocks beyond the queues' locks.
func (q *queue) offer(m message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if matchAny(q.topics, m.topic) {
		q.Offer(m, m.meta, m.topic)
	}
}

// forgetPublisher discards the pending drops of pub and queues forget.
func (q *queue) forgetPublisher(pub string, forget func()) {
	q.Forget(func(k deliver.Key) bool { return k.Pub == pub }, forget)
}

func (q *queue) addTopic(topic string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i, found := slices.BinarySearch(q.topics, topic); !found {
		q.topics = slices.Insert(q.topics, i, topic)
	}
}

// removeTopic unregisters topic and, if it was registered, queues
// forget(the topics that remain). Unlike a publisher's, the topic's pending
// drops are kept: they are still reported (GapOverflow), as before the
// topic was unregistered.
func (q *queue) removeTopic(topic string, forget func(remaining []string)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, found := slices.BinarySearch(q.topics, topic)
	if !found {
		return
	}
	q.topics = slices.Delete(q.topics, i, i+1)
	remaining := slices.Clone(q.topics)
	q.Do(func() { forget(remaining) })
}

func (q *queue) topicList() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.topics)
}
