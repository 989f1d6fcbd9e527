package redis

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

// Subscriber SUBSCRIBEs to its topics (channel = topic, exact match) and
// delivers the events of registered publishers. Two goroutines, both
// owned by the subscriber and ended by Close:
//
//   - receive: owns the connection ("session": one go-redis PubSub). It
//     reads with PubSub.ReceiveTimeout in its own loop (never go-redis's
//     Channel, which drops a message silently after 60 s on a full
//     channel), filters by topic and publisher, decodes, and offers events
//     to the bounded queue. When the connection fails it closes the
//     session, waits a jittered exponential backoff and opens a new one
//     subscribed to the current topics; once that is confirmed it queues
//     a GapReconnect (Redis keeps no history: whatever was published in
//     between is lost). Errors go to the log and into the gap's Err.
//   - deliver: drains the queue, runs the pubsub.Tracker (per-publisher,
//     per-topic seq and epoch gaps) and calls OnGap/OnEvent.
//
// Registration methods may be called from any goroutine, including from
// OnEvent and OnGap; Close must not be called from them (it waits for the
// delivery goroutine).
type Subscriber struct {
	c    *conn
	o    Options
	log  *slog.Logger
	q    *deliver.Queue[event]
	sink *deliver.Sink // delivery goroutine only

	// Copy-on-write registrations, read by both goroutines without a lock,
	// replaced under mu.
	topics atomic.Pointer[map[string]struct{}]
	pubs   atomic.Pointer[map[string]string] // publisher id → URI registered

	// mu serializes registration changes and session changes, so SUBSCRIBE
	// and UNSUBSCRIBE reach the current session in the order the topic set
	// changed. It is never held while waiting for a reply.
	mu     sync.Mutex
	ps     *goredis.PubSub // current session; nil between sessions
	closed bool

	stats stats

	life      context.Context // canceled by Close
	stop      context.CancelFunc
	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

var _ pubsub.Subscriber = (*Subscriber)(nil)

// stats are the subscriber's counters.
type stats struct {
	filtered, malformed, reconnects atomic.Uint64
}

// Stats are a subscriber's counters.
type Stats struct {
	// Dropped counts events dropped on a full queue (reported as GapOverflow).
	Dropped uint64
	// Filtered counts messages of unregistered topics or publishers.
	Filtered uint64
	// Malformed counts messages that did not decode (reported as GapMalformed).
	Malformed uint64
	// Reconnects counts lost connections (reported as GapReconnect once
	// subscribed again).
	Reconnects uint64
}

// Stats returns the subscriber's counters.
func (s *Subscriber) Stats() Stats {
	return Stats{
		Dropped:    s.q.Dropped(),
		Filtered:   s.stats.filtered.Load(),
		Malformed:  s.stats.malformed.Load(),
		Reconnects: s.stats.reconnects.Load(),
	}
}

func newSubscriber(ctx context.Context, o Options, cfg pubsub.SubscriberConfig) (*Subscriber, error) {
	size, err := deliver.QueueSize("redis", cfg)
	if err != nil {
		return nil, err
	}
	c, err := dial(ctx, cfg.Hosts, o)
	if err != nil {
		return nil, fmt.Errorf("redis: new subscriber: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	life, stop := context.WithCancel(context.Background())
	s := &Subscriber{
		c:       c,
		o:       o,
		log:     log,
		q:       deliver.NewQueue[event](size),
		sink:    deliver.NewSink("redis", log, cfg.OnEvent, cfg.OnGap),
		life:    life,
		stop:    stop,
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	topics := map[string]struct{}{}
	for _, t := range cfg.Topics {
		topics[t] = struct{}{}
	}
	s.topics.Store(&topics)
	s.pubs.Store(&map[string]string{})
	s.wg.Add(2)
	go s.receive()
	go s.deliver()
	return s, nil
}

// RegisterTopic implements pubsub.Subscriber: SUBSCRIBE topic (exact
// channel name). It does not wait for Redis's confirmation; a connection
// that fails meanwhile is reconnected and reported as GapReconnect.
func (s *Subscriber) RegisterTopic(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("redis: register topic %q: %w", topic, pubsub.ErrClosed)
	}
	old := *s.topics.Load()
	if _, ok := old[topic]; ok {
		return nil
	}
	next := maps.Clone(old)
	next[topic] = struct{}{}
	s.topics.Store(&next)
	s.sessionCall("subscribe", topic, func(ctx context.Context, ps *goredis.PubSub) error { return ps.Subscribe(ctx, topic) })
	return nil
}

// UnregisterTopic implements pubsub.Subscriber: UNSUBSCRIBE topic. Once it
// returns, no event of topic is queued any more (the receive goroutine
// filters too, as Redis may still send what it had queued); events
// already queued may still be delivered. The Tracker then forgets the
// topic, so registering it again sets a new baseline instead of a false
// gap.
func (s *Subscriber) UnregisterTopic(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("redis: unregister topic %q: %w", topic, pubsub.ErrClosed)
	}
	old := *s.topics.Load()
	if _, ok := old[topic]; !ok {
		return nil
	}
	next := maps.Clone(old)
	delete(next, topic)
	s.topics.Store(&next)
	s.sessionCall("unsubscribe", topic, func(ctx context.Context, ps *goredis.PubSub) error { return ps.Unsubscribe(ctx, topic) })
	s.q.Forget(func(k deliver.Key) bool { return k.Topic == topic }, func() {
		s.sink.Tracker.ForgetTopics(func(t string) bool { return t == topic })
	})
	return nil
}

// sessionCall runs f on the current session, if any (called with mu held).
// f only writes a command. If it fails, the session is closed: go-redis
// may have reconnected under it without a word, so the receive goroutine
// must start a new session and report the gap.
func (s *Subscriber) sessionCall(op, topic string, f func(context.Context, *goredis.PubSub) error) {
	if s.ps == nil {
		return // the next session subscribes to the current set
	}
	ctx, cancel := context.WithTimeout(s.life, s.o.DialTimeout)
	defer cancel()
	if err := f(ctx, s.ps); err != nil {
		s.log.Warn("redis: subscriber command failed; reconnecting", "op", op, "topic", topic, "err", err)
		_ = s.ps.Close()
		s.ps = nil
	}
}

// Topics implements pubsub.Subscriber.
func (s *Subscriber) Topics() []string {
	return slices.Sorted(maps.Keys(*s.topics.Load()))
}

// RegisterPublisher implements pubsub.Subscriber: it connects nothing (the
// broker carries every publisher); it lets ep's events through, by the
// publisher id in their Meta, and they arrive with Endpoint = ep.URI.
// Registering an id again replaces its URI.
func (s *Subscriber) RegisterPublisher(ep pubsub.Endpoint) error {
	if err := deliver.CheckEndpoint("redis", ep); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("redis: register publisher %s: %w", ep.PublisherID, pubsub.ErrClosed)
	}
	next := maps.Clone(*s.pubs.Load())
	next[ep.PublisherID] = ep.URI
	s.pubs.Store(&next)
	return nil
}

// UnregisterPublisher implements pubsub.Subscriber: once it returns, no
// event of the publisher is delivered; its pending overflow is discarded
// and the Tracker forgets it, so registering it again starts from a new
// baseline.
func (s *Subscriber) UnregisterPublisher(publisherID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.pubs.Load()
	if _, ok := old[publisherID]; !ok {
		return fmt.Errorf("redis: unregister publisher %q: %w", publisherID, pubsub.ErrUnknownPublisher)
	}
	next := maps.Clone(old)
	delete(next, publisherID)
	s.pubs.Store(&next)
	s.q.Forget(func(k deliver.Key) bool { return k.Pub == publisherID }, func() { s.sink.Tracker.Forget(publisherID) })
	return nil
}

// Done implements pubsub.Subscriber; closed when Close has finished.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err implements pubsub.Subscriber: a Redis subscriber has no fatal error
// (a lost broker is retried for ever and reported as gaps).
func (s *Subscriber) Err() error { return nil }

// Close implements pubsub.Subscriber: it closes the session, discards the
// queue, waits for both goroutines (no callback runs after it returns) and
// closes the client. Idempotent; concurrent calls all wait.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		// closing first: the receive goroutine then takes the session's
		// end for the stop it is, not for a lost connection.
		s.stop()
		close(s.closing)
		s.mu.Lock()
		s.closed = true
		if s.ps != nil {
			_ = s.ps.Close()
			s.ps = nil
		}
		s.mu.Unlock()
		s.q.Stop()
		s.wg.Wait()
		if cerr := s.c.close(); cerr != nil {
			s.closeErr = fmt.Errorf("redis: close subscriber: %w", cerr)
		}
		close(s.done)
	})
	<-s.done
	return s.closeErr
}
