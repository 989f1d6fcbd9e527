package memory

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

// Subscriber is a memory subscriber. Registered topics match by prefix, as
// ZeroMQ subscriptions do ("" matches every topic). Publishers offer events
// into its bounded queue; one delivery goroutine decodes them, runs them
// through a pubsub.Tracker and calls OnGap/OnEvent.
//
// Registration methods may be called from any goroutine, including from
// OnEvent and OnGap; Close must not be called from them (it waits for the
// delivery goroutine).
type Subscriber struct {
	hub  *Hub
	log  *slog.Logger
	q    *queue
	sink *deliver.Sink // delivery goroutine only

	mu     sync.Mutex        // guards eps and closed; taken before the hub's lock
	eps    map[string]string // publisher id → URI
	closed bool

	closeOnce sync.Once
	closing   chan struct{} // closed by Close: the delivery goroutine stops
	done      chan struct{} // closed when Close has finished
	wg        sync.WaitGroup
}

var _ pubsub.Subscriber = (*Subscriber)(nil)

func newSubscriber(ctx context.Context, hub *Hub, cfg pubsub.SubscriberConfig) (*Subscriber, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: new subscriber: %w", err)
	}
	size, err := deliver.QueueSize("memory", cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Subscriber{
		hub:     hub,
		log:     log,
		q:       newQueue(size),
		sink:    deliver.NewSink("memory", log, cfg.OnEvent, cfg.OnGap),
		eps:     map[string]string{},
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, t := range cfg.Topics {
		s.q.addTopic(t)
	}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// RegisterTopic implements pubsub.Subscriber: publishers offer events of
// every topic starting with topic from the moment it returns.
func (s *Subscriber) RegisterTopic(topic string) error {
	if s.isClosed() {
		return fmt.Errorf("memory: register topic %q: %w", topic, pubsub.ErrClosed)
	}
	s.q.addTopic(topic)
	return nil
}

// UnregisterTopic implements pubsub.Subscriber: from the moment it returns,
// publishers offer no event that only topic matched; such events already
// queued are still delivered. The Tracker then forgets those topics, so a
// later RegisterTopic starts from a new baseline instead of a false gap.
func (s *Subscriber) UnregisterTopic(topic string) error {
	if s.isClosed() {
		return fmt.Errorf("memory: unregister topic %q: %w", topic, pubsub.ErrClosed)
	}
	s.q.removeTopic(topic, func(remaining []string) {
		s.sink.Tracker.ForgetTopics(func(t string) bool {
			return strings.HasPrefix(t, topic) && !matchAny(remaining, t)
		})
	})
	return nil
}

// Topics implements pubsub.Subscriber.
func (s *Subscriber) Topics() []string { return s.q.topicList() }

// RegisterPublisher implements pubsub.Subscriber. ep.URI must be a mem://
// URI; no publisher need be bound there yet: s is attached to whichever
// publisher binds it, now or later (e.g. after a restart). Registering the
// same id again with the same URI is a no-op; with another URI it moves the
// registration, so the publisher never delivers twice.
func (s *Subscriber) RegisterPublisher(ep pubsub.Endpoint) error {
	if err := deliver.CheckEndpoint("memory", ep); err != nil {
		return err
	}
	if !strings.HasPrefix(ep.URI, Scheme) {
		return fmt.Errorf("memory: register publisher %s: URI %q is not %s", ep.PublisherID, ep.URI, Scheme)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory: register publisher %s: %w", ep.PublisherID, pubsub.ErrClosed)
	}
	old, known := s.eps[ep.PublisherID]
	if known && old == ep.URI {
		return nil
	}
	s.hub.register(s, ep.URI)
	if known {
		s.hub.unregister(s, old)
	}
	s.eps[ep.PublisherID] = ep.URI
	return nil
}

// UnregisterPublisher implements pubsub.Subscriber: when it returns, the
// publisher offers s nothing more, its pending overflow is discarded (the
// consumer no longer follows it) and the Tracker forgets it, so registering
// it again starts from a new baseline.
func (s *Subscriber) UnregisterPublisher(publisherID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	uri, known := s.eps[publisherID]
	if !known {
		return fmt.Errorf("memory: unregister publisher %q: %w", publisherID, pubsub.ErrUnknownPublisher)
	}
	delete(s.eps, publisherID)
	s.hub.unregister(s, uri)
	s.q.forgetPublisher(publisherID, func() { s.sink.Tracker.Forget(publisherID) })
	return nil
}

// Dropped returns how many events the queue has dropped on overflow.
func (s *Subscriber) Dropped() uint64 { return s.q.Dropped() }

// Done implements pubsub.Subscriber; closed when Close has finished.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err implements pubsub.Subscriber: a memory subscriber has no fatal errors.
func (s *Subscriber) Err() error { return nil }

// Close implements pubsub.Subscriber: it detaches s from every publisher,
// discards what is queued, and waits for the delivery goroutine, so no
// callback runs after it returns. Idempotent; concurrent calls all wait.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for _, uri := range s.eps {
			s.hub.unregister(s, uri)
		}
		clear(s.eps)
		s.mu.Unlock()
		s.q.Stop()
		close(s.closing)
		s.wg.Wait()
		close(s.done)
	})
	return nil
}

func (s *Subscriber) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func matchAny(prefixes []string, topic string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(topic, p) })
}
