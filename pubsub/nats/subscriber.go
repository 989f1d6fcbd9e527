package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

// Subscriber receives events on one NATS connection. Every registered topic
// is a channel subscription (nats.ChanSubscribe) into one shared channel of
// QueueSize messages: the client's read loop fills it in arrival order,
// never blocks on it, and counts a message it cannot add as dropped
// (nats' "slow consumer"). One delivery goroutine drains it, reports those
// drops as GapOverflow and broker reconnects as GapReconnect, filters on
// registered publishers, decodes, runs pubsub.Tracker and calls OnGap and
// OnEvent, in order.
//
// Registration methods may be called from any goroutine, including from
// OnEvent and OnGap; Close must not be called from them.
//
// Unlike the memory, redis and etcd subscribers it has no
// pubsub/internal/deliver.Queue: the bounded queue is the client's channel,
// filled by the client's read loop, which drops the messages it has no
// room for, unread, and counts them per subscription; so its GapOverflow is
// per topic, without a publisher (see README.md). It shares the Sink (Tracker, callbacks) and
// the Publishers table with etcd, with its own fence.
type Subscriber struct {
	log  *slog.Logger
	nc   *natsgo.Conn
	msgs chan *natsgo.Msg
	wake chan struct{} // capacity 1: a connection event to look at
	// fence is the subscription of the subscriber's own fence subject (an
	// inbox), delivering into msgs too; see RegisterPublisher.
	fence      *natsgo.Subscription
	fenceSubj  string
	fenceDrops int // delivery goroutine only

	mu      sync.Mutex
	topics  map[string]*natsgo.Subscription
	pubs    *deliver.Publishers[fence]
	fenceN  uint64 // last fence published
	closing bool
	err     error // set when the delivery goroutine stops on a fatal error

	// Owned by the delivery goroutine.
	sink       *deliver.Sink
	seenDrops  map[*natsgo.Subscription]int
	reconnects uint64

	dropped   atomic.Uint64
	lastDisc  atomic.Pointer[error]
	fatal     atomic.Pointer[error]
	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the subscriber has stopped
	connDone  chan struct{} // closed by the connection's closed handler
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// fence is the fence of a registered publisher (see RegisterPublisher):
// its events are delivered once it is active, i.e. once the fence message
// numbered n (or a later one) came back, or may have been lost.
type fence struct {
	n      uint64
	active bool
}

var _ pubsub.Subscriber = (*Subscriber)(nil)

func newSubscriber(ctx context.Context, d *Driver, cfg pubsub.SubscriberConfig) (*Subscriber, error) {
	size, err := deliver.QueueSize("nats", cfg)
	if err != nil {
		return nil, err
	}
	log := logger(cfg.Logger).With("driver", "nats")
	s := &Subscriber{
		log:       log,
		msgs:      make(chan *natsgo.Msg, size),
		wake:      make(chan struct{}, 1),
		topics:    map[string]*natsgo.Subscription{},
		pubs:      deliver.NewPublishers[fence]("nats"),
		sink:      deliver.NewSink("nats", log, cfg.OnEvent, cfg.OnGap),
		seenDrops: map[*natsgo.Subscription]int{},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		connDone:  make(chan struct{}),
	}
	nc, err := d.connect(ctx, cfg.Hosts, "df-sub",
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			if err != nil {
				s.lastDisc.Store(&err)
			}
			s.signal()
		}),
		natsgo.ReconnectHandler(func(*natsgo.Conn) { s.signal() }),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			// ErrSlowConsumer: the drops are counted per subscription and
			// reported by the delivery goroutine.
			if !errors.Is(err, natsgo.ErrSlowConsumer) {
				s.log.Warn("nats: subscriber connection error", "err", err)
			}
			s.signal()
		}),
		natsgo.ClosedHandler(func(nc *natsgo.Conn) {
			err := nc.LastError()
			if err == nil {
				err = natsgo.ErrConnectionClosed
			}
			s.fatal.CompareAndSwap(nil, &err)
			close(s.connDone)
			s.signal()
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("nats: new subscriber: connect %s: %w", servers(cfg.Hosts), err)
	}
	s.nc = nc
	s.reconnects = nc.Stats().Reconnects
	s.fenceSubj = nc.NewInbox()
	if s.fence, err = nc.ChanSubscribe(s.fenceSubj, s.msgs); err != nil {
		nc.Close()
		waitClosed(s.connDone)
		return nil, fmt.Errorf("nats: new subscriber: subscribe to fence subject: %w", err)
	}
	for _, t := range cfg.Topics {
		if err := s.RegisterTopic(t); err != nil {
			nc.Close()
			waitClosed(s.connDone)
			return nil, err
		}
	}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

func (s *Subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RegisterTopic implements pubsub.Subscriber: it subscribes to the topic's
// subject and, when connected, waits (at most a second) until the broker
// has the subscription.
func (s *Subscriber) RegisterTopic(topic string) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return fmt.Errorf("nats: register topic %q: %w", topic, pubsub.ErrClosed)
	}
	if _, ok := s.topics[topic]; ok {
		s.mu.Unlock()
		return nil
	}
	sub, err := s.nc.ChanSubscribe(Subject(topic), s.msgs)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("nats: register topic %q: %w", topic, err)
	}
	s.topics[topic] = sub
	s.mu.Unlock()
	if s.nc.IsConnected() {
		_ = s.nc.FlushTimeout(time.Second) // a best effort: the subscription is resent on reconnect anyway
	}
	return nil
}

// UnregisterTopic implements pubsub.Subscriber: it unsubscribes, and
// messages of the topic still queued are discarded, so nothing of the topic
// is delivered once it returns. The Tracker forgets the topic when it is
// registered again, so that is no false gap.
func (s *Subscriber) UnregisterTopic(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return fmt.Errorf("nats: unregister topic %q: %w", topic, pubsub.ErrClosed)
	}
	sub, ok := s.topics[topic]
	if !ok {
		return nil
	}
	delete(s.topics, topic)
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) {
		return fmt.Errorf("nats: unregister topic %q: %w", topic, err)
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

// RegisterPublisher implements pubsub.Subscriber. It connects nothing: it
// lets the publisher's events through the subscriber's filter. ep.URI is
// only recorded as the Event.Endpoint of its events; registering an id
// already registered just replaces it.
//
// A new registration is fenced: the subscriber publishes a fence message to
// itself and flushes (at most a second), and the publisher's events are
// delivered from the fence on. The broker forwards the fence after every
// message it forwarded before and before every message it receives after,
// so an event the publisher sent while it was not registered, still in
// flight, is not delivered, and every event it sends once
// RegisterPublisher has returned is. A fence lost to an overflow or a
// reconnect (each reported as a gap) activates every pending registration.
func (s *Subscriber) RegisterPublisher(ep pubsub.Endpoint) error {
	if err := deliver.CheckEndpoint("nats", ep); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return fmt.Errorf("nats: register publisher %s: %w", ep.PublisherID, pubsub.ErrClosed)
	}
	if s.pubs.SetURI(ep.PublisherID, ep.URI) {
		s.mu.Unlock()
		return nil
	}
	s.fenceN++
	s.pubs.Add(ep.PublisherID, ep.URI, fence{n: s.fenceN})
	err := s.nc.Publish(s.fenceSubj, strconv.AppendUint(nil, s.fenceN, 10))
	s.mu.Unlock()
	if err != nil {
		s.activateFences(^uint64(0))
		return nil
	}
	if s.nc.IsConnected() {
		_ = s.nc.FlushTimeout(time.Second) // best effort: the fence arrives later then
	}
	return nil
}

// activateFences activates every registration whose fence is at most n.
func (s *Subscriber) activateFences(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pubs.UpdateFences(func(f *fence) {
		if f.n <= n {
			f.active = true
		}
	})
}

// checkFenceDrops activates every pending registration when a fence may
// have been dropped.
func (s *Subscriber) checkFenceDrops() {
	if n, err := s.fence.Dropped(); err == nil && n > s.fenceDrops {
		s.fenceDrops = n
		s.activateFences(^uint64(0))
	}
}

// UnregisterPublisher implements pubsub.Subscriber: none of the
// publisher's events is delivered once it returns.
func (s *Subscriber) UnregisterPublisher(publisherID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pubs.Remove(publisherID)
}

// Dropped returns how many messages the subscriber's queue had no room
// for (each reported in a GapOverflow).
func (s *Subscriber) Dropped() uint64 { return s.dropped.Load() }

// Done implements pubsub.Subscriber.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err implements pubsub.Subscriber: non-nil once the subscriber stopped
// because its connection was closed by something other than Close.
func (s *Subscriber) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close implements pubsub.Subscriber: it stops delivery, waits for the
// delivery goroutine (no callback runs after it returns), closes the
// connection and waits until the client is done with it. Idempotent.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		close(s.stop)
		s.wg.Wait()
		s.nc.Close()
		waitClosed(s.connDone)
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	})
	return nil
}

// run is the delivery goroutine.
func (s *Subscriber) run() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		select {
		case <-s.stop:
			return
		case m := <-s.msgs:
			s.deliver(m)
			if len(s.msgs) == 0 {
				s.checkAllDrops()
			}
		case <-s.wake:
			s.checkReconnect()
			s.checkFenceDrops()
			s.checkAllDrops()
			if s.nc.IsClosed() && s.fatal.Load() != nil {
				err := *s.fatal.Load()
				s.mu.Lock()
				closing := s.closing
				if !closing {
					s.err = err
				}
				s.mu.Unlock()
				if !closing {
					s.log.Error("nats: subscriber connection closed", "err", err)
					s.sink.Gap(pubsub.Gap{Reason: pubsub.GapReconnect, Err: err})
					close(s.done) // Close sees it closed and does not close it again
					return
				}
			}
		}
	}
}

// deliver handles one message: reconnect and overflow gaps first, then the
// subscriber's filters, the decode and the Tracker.
func (s *Subscriber) deliver(m *natsgo.Msg) {
	// nats counts the reconnect before the new connection reads anything,
	// so any message read after it is seen after the gap.
	s.checkReconnect()
	s.checkFenceDrops()
	if m.Sub == s.fence {
		if n, err := strconv.ParseUint(string(m.Data), 10, 64); err == nil {
			s.activateFences(n)
		}
		return
	}
	topic, err := topicOf(m.Subject)
	if err != nil {
		s.sink.Gap(pubsub.Gap{Reason: pubsub.GapMalformed, Err: err})
		return
	}
	s.checkDrops(topic, m.Sub)
	s.mu.Lock()
	current := s.topics[topic] == m.Sub
	s.mu.Unlock()
	if !current {
		return // queued before UnregisterTopic
	}
	s.sink.TopicReg(topic, m.Sub) // registered anew: start from a new baseline
	u, meta, err := model.DecodeBody(m.Data)
	if err != nil {
		s.sink.Gap(pubsub.Gap{Reason: pubsub.GapMalformed, Topic: topic, Err: err})
		return
	}
	var endpoint string
	if meta.PublisherID != "" {
		s.mu.Lock()
		r, registered := s.pubs.Get(meta.PublisherID)
		s.mu.Unlock()
		if !registered || !r.Fence.active {
			return
		}
		s.sink.PublisherGen(meta.PublisherID, r.Gen)
		endpoint = r.URI
	}
	s.sink.Observe(pubsub.Event{Update: u, Meta: meta, Endpoint: endpoint}, topic)
}

// checkReconnect reports a reconnect of the connection since the last
// check as GapReconnect for every publisher.
func (s *Subscriber) checkReconnect() {
	n := s.nc.Stats().Reconnects
	if n == s.reconnects {
		return
	}
	s.reconnects = n
	s.activateFences(^uint64(0)) // a fence may have been lost with the connection
	err := errors.New("nats: reconnected to the broker")
	if p := s.lastDisc.Load(); p != nil {
		err = fmt.Errorf("nats: reconnected to the broker after: %w", *p)
	}
	s.sink.Gap(pubsub.Gap{Reason: pubsub.GapReconnect, Err: err})
}

// checkDrops reports the messages sub dropped since the last check.
func (s *Subscriber) checkDrops(topic string, sub *natsgo.Subscription) {
	n, err := sub.Dropped()
	if err != nil {
		delete(s.seenDrops, sub) // unsubscribed: the topic is gone
		return
	}
	if seen := s.seenDrops[sub]; n > seen {
		s.seenDrops[sub] = n
		lost := uint64(n - seen)
		s.dropped.Add(lost)
		s.sink.Gap(pubsub.Gap{Reason: pubsub.GapOverflow, Topic: topic, Lost: lost, Err: natsgo.ErrSlowConsumer})
	}
}

// checkAllDrops runs checkDrops on every registered topic.
func (s *Subscriber) checkAllDrops() {
	type ts struct {
		topic string
		sub   *natsgo.Subscription
	}
	s.mu.Lock()
	subs := make([]ts, 0, len(s.topics))
	for t, sub := range s.topics {
		subs = append(subs, ts{t, sub})
	}
	s.mu.Unlock()
	for _, x := range subs {
		s.checkDrops(x.topic, x.sub)
	}
	for sub := range s.seenDrops {
		if !slices.ContainsFunc(subs, func(x ts) bool { return x.sub == sub }) {
			delete(s.seenDrops, sub)
		}
	}
}
