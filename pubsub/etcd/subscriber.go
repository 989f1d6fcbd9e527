package etcd

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	nbetcd "github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

// revisionTimeout bounds the read of etcd's current revision that
// RegisterTopic and RegisterPublisher make.
const revisionTimeout = 5 * time.Second

// Subscriber receives events by watching the key of every registered topic.
//
// Goroutines, all owned by the subscriber and ended by Close: one watch
// goroutine per registered topic (watch.go), which resumes its watch from
// the revision after the last one it received and reports compacted
// history; one merge goroutine (merge.go), which puts the topics' events
// back into revision order, filters them on registered publishers and
// offers them to the bounded delivery queue; one progress goroutine, which
// asks etcd for the watches' progress when the merge waits for an idle
// topic; and one delivery goroutine, the only one to run the
// pubsub.Tracker and call OnGap and OnEvent.
//
// Registration methods may be called from any goroutine, including from
// OnEvent and OnGap; Close must not be called from them.
type Subscriber struct {
	log *slog.Logger
	db  *nbetcd.Driver
	cli *clientv3.Client
	q   *deliver.Queue[event]

	// life is canceled by Close: every watch, read and goroutine ends.
	life   context.Context
	cancel context.CancelFunc
	in     chan watchMsg // watch goroutines → merge goroutine
	kick   chan struct{} // capacity 1: registrations changed
	askc   chan struct{} // capacity 1: merge goroutine → progress goroutine
	// seen is the highest revision the merge goroutine has seen.
	seen atomic.Int64

	mu      sync.Mutex
	topics  map[string]*topicWatch
	pubs    *deliver.Publishers[int64] // the fence: see RegisterPublisher
	closing bool

	sink *deliver.Sink // delivery goroutine only

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	wg        sync.WaitGroup
}

// event is one event of the delivery queue (deliver.Queue, filled by the
// merge goroutine, never blocking it; besides events it carries the gaps of
// compacted topic histories and undecodable values, and overflow reports):
// the topic watch it came from and the registration of its publisher, by
// which the delivery goroutine tells a topic or publisher registered anew.
type event struct {
	ev    pubsub.Event
	topic string
	watch *topicWatch
	gen   uint64
}

var _ pubsub.Subscriber = (*Subscriber)(nil)

func newSubscriber(ctx context.Context, cfg pubsub.SubscriberConfig) (*Subscriber, error) {
	size, err := deliver.QueueSize("etcd", cfg)
	if err != nil {
		return nil, err
	}
	log := logger(cfg.Logger).With("driver", "etcd")
	db, err := dial(ctx, cfg.Hosts, log)
	if err != nil {
		return nil, fmt.Errorf("etcd: new subscriber: %w", err)
	}
	life, cancel := context.WithCancel(context.Background())
	s := &Subscriber{
		log:    log,
		db:     db,
		cli:    db.Client(),
		q:      deliver.NewQueue[event](size),
		life:   life,
		cancel: cancel,
		in:     make(chan watchMsg, 64),
		kick:   make(chan struct{}, 1),
		askc:   make(chan struct{}, 1),
		topics: map[string]*topicWatch{},
		pubs:   deliver.NewPublishers[int64]("etcd"),
		sink:   deliver.NewSink("etcd", log, cfg.OnEvent, cfg.OnGap),
		done:   make(chan struct{}),
	}
	s.wg.Add(3)
	go s.merge()
	go s.progress()
	go s.deliver()
	if len(cfg.Topics) > 0 {
		rev, err := s.revision() // one read for all initial topics
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("etcd: new subscriber: read the current revision: %w", err)
		}
		for _, t := range cfg.Topics {
			s.registerAt(t, rev)
		}
	}
	return s, nil
}

// revision reads etcd's current revision (linearizable), bounded by
// revisionTimeout and Close.
func (s *Subscriber) revision() (int64, error) {
	ctx, cancel := context.WithTimeout(s.life, revisionTimeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, KeyPrefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

// RegisterTopic implements pubsub.Subscriber: it reads etcd's current
// revision R and watches the topic's key from R+1, so every event
// published after it returns is delivered. It fails when etcd cannot be
// read (within 5 s).
func (s *Subscriber) RegisterTopic(topic string) error {
	if s.registered(topic) {
		return nil
	}
	rev, err := s.revision()
	if err != nil {
		if s.life.Err() != nil {
			return fmt.Errorf("etcd: register topic %q: %w", topic, pubsub.ErrClosed)
		}
		return fmt.Errorf("etcd: register topic %q: read the current revision: %w", topic, err)
	}
	if !s.registerAt(topic, rev) {
		return fmt.Errorf("etcd: register topic %q: %w", topic, pubsub.ErrClosed)
	}
	return nil
}

// registerAt registers topic, if it is not registered yet, with a watch
// from rev+1; false when the subscriber is closing.
func (s *Subscriber) registerAt(topic string, rev int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if _, ok := s.topics[topic]; !ok {
		tw := newTopicWatch(s.life, topic, rev)
		s.topics[topic] = tw
		s.wg.Add(1)
		go s.watch(tw)
	}
	return true
}

// registered reports whether topic is registered; it fails (false) after
// Close, and RegisterTopic reports ErrClosed then.
func (s *Subscriber) registered(topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.topics[topic]
	return ok && !s.closing
}

// UnregisterTopic implements pubsub.Subscriber: it ends the topic's watch;
// an event of the topic the merge goroutine receives after it returns is
// discarded (events already queued may still be delivered). Registering
// the topic again starts the Tracker from a new baseline, so what was sent
// in between is no false gap.
func (s *Subscriber) UnregisterTopic(topic string) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return fmt.Errorf("etcd: unregister topic %q: %w", topic, pubsub.ErrClosed)
	}
	tw, ok := s.topics[topic]
	if ok {
		delete(s.topics, topic)
		tw.cancel()
	}
	s.mu.Unlock()
	if ok {
		s.signal(s.kick) // its watermark no longer holds the merge back
	}
	return nil
}

// Topics implements pubsub.Subscriber.
func (s *Subscriber) Topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.topics))
	for t := range s.topics {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// RegisterPublisher implements pubsub.Subscriber. It connects nothing:
// every publisher's events arrive through etcd, and the subscriber
// delivers those of registered publishers (by Meta.PublisherID). ep.URI is
// only recorded as Event.Endpoint; registering an id already registered
// replaces it and changes nothing else.
//
// A new registration is fenced by revision: RegisterPublisher reads etcd's
// current revision R, and only the publisher's events at revisions above R
// are delivered. Every event the publisher sends after RegisterPublisher
// returns is above R; every event it sent before it was called (while
// unregistered) is at or below R and never arrives. When etcd cannot be
// read, the fence is the highest revision the subscriber has seen (a
// warning is logged): an event in flight then may still arrive.
func (s *Subscriber) RegisterPublisher(ep pubsub.Endpoint) error {
	if err := deliver.CheckEndpoint("etcd", ep); err != nil {
		return err
	}
	if s.updateURI(ep) {
		return nil
	}
	fence, err := s.revision()
	if err != nil {
		if s.life.Err() != nil {
			return fmt.Errorf("etcd: register publisher %s: %w", ep.PublisherID, pubsub.ErrClosed)
		}
		fence = s.seen.Load()
		s.log.Warn("etcd: register publisher: cannot read the current revision; fencing at the last revision seen",
			"publisher", ep.PublisherID, "revision", fence, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return fmt.Errorf("etcd: register publisher %s: %w", ep.PublisherID, pubsub.ErrClosed)
	}
	if !s.pubs.SetURI(ep.PublisherID, ep.URI) { // unless registered meanwhile
		s.pubs.Add(ep.PublisherID, ep.URI, fence)
	}
	return nil
}

// updateURI records ep's URI if its id is registered, and reports whether
// it was (or the subscriber is closing: RegisterPublisher then fails
// later).
func (s *Subscriber) updateURI(ep pubsub.Endpoint) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closing && s.pubs.SetURI(ep.PublisherID, ep.URI)
}

// UnregisterPublisher implements pubsub.Subscriber: none of the
// publisher's events that the merge goroutine receives after it returns is
// delivered.
func (s *Subscriber) UnregisterPublisher(publisherID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pubs.Remove(publisherID)
}

// Dropped returns how many events the delivery queue had no room for (each
// reported in a GapOverflow).
func (s *Subscriber) Dropped() uint64 { return s.q.Dropped() }

// Done implements pubsub.Subscriber: closed when Close has finished. The
// subscriber never stops on its own: watches resume after any error.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err implements pubsub.Subscriber; always nil (see Done).
func (s *Subscriber) Err() error { return nil }

// Close implements pubsub.Subscriber: it ends every watch and goroutine,
// waits for them (no callback runs after it returns), then closes the etcd
// client. Idempotent; returns the first result every time.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("etcd: close subscriber: %w", err)
		}
		close(s.done)
	})
	return s.closeErr
}

func (s *Subscriber) signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// deliver is the delivery goroutine.
func (s *Subscriber) deliver() {
	defer s.wg.Done()
	s.q.Run(s.life.Done(), deliver.Handler[event]{Event: s.deliverEvent, Overflow: s.sink.Overflow, Gap: s.topicGap})
}

// topicGap reports a queued gap. A gap of a topic (compacted history, an
// undecodable value) covers every publisher on the topic: the next event
// of each starts a new baseline instead of reporting the same loss again
// as GapSeq. (Redis and nats report GapMalformed without that reset: there
// it is one lost message, here the value of a key whose history moves on.)
func (s *Subscriber) topicGap(g pubsub.Gap) {
	if g.Topic != "" {
		s.sink.Tracker.ForgetTopics(func(t string) bool { return t == g.Topic })
	}
	s.sink.Gap(g)
}

// deliverEvent runs one event through the Tracker and OnEvent; a topic or a
// publisher registered anew since its last event starts from a new
// baseline.
func (s *Subscriber) deliverEvent(e event) {
	s.sink.TopicReg(e.topic, e.watch)
	if id := e.ev.Meta.PublisherID; id != "" {
		s.sink.PublisherGen(id, e.gen)
	}
	s.sink.Observe(e.ev, e.topic)
}
