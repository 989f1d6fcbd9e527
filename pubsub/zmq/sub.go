package zmq

// Subscriber: a ZMTP SUB socket connected to any number of publishers.
//
// Contract. Each registered publisher (RegisterPublisher) gets its own
// goroutine that dials its URI, runs the handshake, sends every registered
// topic, then reads; on any error it redials with jittered exponential
// backoff, for ever, so connect-before-bind works and a restarted publisher
// is found again. Publishers are keyed by id: registering an id again under
// another URI replaces the connection (the old one is closed before the new
// one is dialled, so one publisher never delivers twice). RegisterTopic and
// UnregisterTopic reach every live connection at once (SUBSCRIBE/CANCEL to a
// ZMTP 3.1 peer, a subscription message to a 3.0 peer) and every later one.
//
// All connections feed one inbox (see inbox.go): one delivery goroutine
// calls OnEvent and OnGap in order. Gaps: GapReconnect (topic "") right
// after each reconnection to a publisher (not after the first connection);
// GapEpoch, GapSeq from the tracker; GapHeartbeat from a v2 publisher's
// heartbeats; GapOverflow when the delivery queue was full; GapMalformed for
// a message that could not be read.
//
// Goroutines, owned by the Subscriber and stopped by Close: one per
// registered publisher, and the inbox's delivery goroutine; a timer sends
// ZMTP PINGs to 3.1 peers every heartbeat interval.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// Subscriber is the SUB side. Safe for concurrent use; Close must not be
// called from OnEvent or OnGap.
type Subscriber struct {
	o    options
	log  *slog.Logger
	in   *inbox
	wg   sync.WaitGroup
	done chan struct{} // closed when Close has finished

	regMu sync.Mutex // serialises (Un)RegisterPublisher, which wait for goroutines

	pingMsg   []byte
	pingTimer *time.Timer
	pingWG    sync.WaitGroup // a scheduled or running ping

	mu        sync.Mutex
	closed    bool
	topics    *prefixSet
	endpoints map[string]*runner
	live      map[*subConn]struct{}
	resume    map[string]resumePos // Resume positions not yet sent

	resumesSent counter

	closeOnce            sync.Once
	connects, reconnects counter
	rejected             reasonCounts
}

var _ pubsub.Subscriber = (*Subscriber)(nil)

func newSubscriber(o options, cfg pubsub.SubscriberConfig) *Subscriber {
	log := o.loggerOr(cfg.Logger).With("pubsub", "zmq", "socket", "SUB")
	topics := newPrefixSet()
	for _, t := range cfg.Topics {
		if _, dup := topics.counts[t]; !dup {
			topics.add(t)
		}
	}
	s := &Subscriber{
		o:         o,
		log:       log,
		in:        newInbox(log, cfg, o.deliveryWait, topics.clone(), false),
		pingMsg:   zmtp.AppendPing(nil, o.pingTTL(), nil),
		done:      make(chan struct{}),
		topics:    topics,
		endpoints: map[string]*runner{},
		live:      map[*subConn]struct{}{},
		resume:    map[string]resumePos{},
	}
	s.pingWG.Add(1)
	s.pingTimer = time.AfterFunc(o.heartbeat, s.ping)
	return s
}

// RegisterTopic subscribes topic (a prefix) on every connection. Idempotent.
func (s *Subscriber) RegisterTopic(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pubsub.ErrClosed
	}
	if _, dup := s.topics.counts[topic]; dup {
		return nil
	}
	s.topics.add(topic)
	for c := range s.live {
		c.send(zmtp.AppendSubscribe(nil, c.peer.Minor31(), topic))
	}
	s.in.post(item{kind: kTopics, ctl: &control{filter: s.topics.clone()}})
	return nil
}

// UnregisterTopic cancels topic on every connection. Events of it queued
// before are still delivered; events arriving later are not, and the
// tracker forgets its counters, so registering it again sets a new baseline
// instead of reporting a false gap. Unknown topics are a no-op.
func (s *Subscriber) UnregisterTopic(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pubsub.ErrClosed
	}
	if _, ok := s.topics.counts[topic]; !ok {
		return nil
	}
	s.topics.remove(topic)
	for c := range s.live {
		c.send(zmtp.AppendCancel(nil, c.peer.Minor31(), topic))
	}
	rest := s.topics.clone()
	forget := func(t string) bool { return strings.HasPrefix(t, topic) && !rest.match(t) }
	s.in.post(item{kind: kTopics, ctl: &control{filter: rest, forget: forget}})
	return nil
}

// Topics returns the registered topics, sorted.
func (s *Subscriber) Topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics.topics()
}

// RegisterPublisher connects to ep (in the background; it returns once the
// connection goroutine runs). Registering the same id and URI again is a
// no-op; the same id under another URI replaces the connection, and the
// switch is reported as GapReconnect once the new one is up.
func (s *Subscriber) RegisterPublisher(ep pubsub.Endpoint) error {
	addr, err := parseEndpoint(ep.URI)
	if err != nil {
		return err
	}
	key := ep.PublisherID
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pubsub.ErrClosed
	}
	old := s.endpoints[key]
	s.mu.Unlock()
	if old != nil && old.ep.URI == ep.URI {
		return nil
	}
	connected := false
	if old != nil {
		old.stop()
		connected = old.hadConnection()
		s.log.Info("publisher moved", "publisher", ep.PublisherID, "from", old.ep.URI, "to", ep.URI)
	}
	r := newRunner(s, ep, addr, connected)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pubsub.ErrClosed
	}
	s.endpoints[key] = r
	s.wg.Go(r.run)
	return nil
}

// UnregisterPublisher disconnects the publisher with that id and waits for
// its connection goroutine; the tracker forgets it.
func (s *Subscriber) UnregisterPublisher(publisherID string) error {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.mu.Lock()
	r := s.endpoints[publisherID]
	if r == nil {
		s.mu.Unlock()
		return fmt.Errorf("zmq: unregister publisher %q: %w", publisherID, pubsub.ErrUnknownPublisher)
	}
	delete(s.endpoints, publisherID)
	s.mu.Unlock()
	r.stop()
	s.in.post(item{kind: kForget, ctl: &control{pubID: r.ep.PublisherID}})
	return nil
}

// resumePos is what Resume was given for one publisher.
type resumePos struct {
	epoch uint64
	seqs  map[string]uint64
}

// Resume gives the positions this subscriber resumes from for publisherID:
// per topic, the last seq applied in the publisher's epoch. Call it before
// RegisterPublisher (a later call applies to the next connection to that
// publisher). The next connection to it seeds the tracker with them (what
// is at or below a position is refused as a duplicate, a jump beyond it is
// a gap) and, if the publisher is v2, sends them (DFRESUME, see replay.go)
// before its subscriptions, so the publisher replays what was missed from
// its replay buffer, or nothing — then the gap the tracker reports is the
// fallback. Positions are used once.
func (s *Subscriber) Resume(publisherID string, epoch uint64, lastSeq map[string]uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pubsub.ErrClosed
	}
	s.resume[publisherID] = resumePos{epoch: epoch, seqs: maps.Clone(lastSeq)}
	return nil
}

// takeResume returns and forgets the positions of publisherID.
func (s *Subscriber) takeResume(publisherID string) (resumePos, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.resume[publisherID]
	delete(s.resume, publisherID)
	return r, ok
}

// Done is closed once Close has returned.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err is always nil: a SUB has no fatal error (connections are retried).
func (s *Subscriber) Err() error { return nil }

// Close disconnects every publisher, stops delivery (after the callback in
// progress, if any) and waits for every goroutine. Idempotent.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.regMu.Lock()
		s.mu.Lock()
		s.closed = true
		if s.pingTimer.Stop() {
			s.pingWG.Done()
		}
		runners := make([]*runner, 0, len(s.endpoints))
		for _, r := range s.endpoints {
			runners = append(runners, r)
		}
		s.mu.Unlock()
		s.regMu.Unlock()
		for _, r := range runners {
			r.cancel()
		}
		s.wg.Wait()
		s.pingWG.Wait()
		s.in.close()
		close(s.done)
	})
	return nil
}

// Stats returns the subscriber's counters.
func (s *Subscriber) Stats() SubscriberStats {
	var st SubscriberStats
	s.in.stats(&st)
	st.Connects, st.Reconnects = s.connects.Load(), s.reconnects.Load()
	st.ResumesSent = s.resumesSent.Load()
	st.Rejected = s.rejected.snapshot()
	s.mu.Lock()
	for _, r := range s.endpoints {
		st.Endpoints = append(st.Endpoints, r.stats())
	}
	s.mu.Unlock()
	return st
}

// attach makes c live: it sends every registered topic to it, under the
// same lock as RegisterTopic, so no (un)subscription is missed or reordered.
func (s *Subscriber) attach(c *subConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	var out []byte
	for _, t := range s.topics.list {
		out = zmtp.AppendSubscribe(out, c.peer.Minor31(), t)
	}
	if len(out) > 0 {
		c.send(out)
	}
	s.live[c] = struct{}{}
	return true
}

func (s *Subscriber) detach(c *subConn) {
	s.mu.Lock()
	delete(s.live, c)
	s.mu.Unlock()
}

// ping sends a ZMTP PING to every live ZMTP 3.1 connection, and schedules
// itself again (a timer, not a goroutine per subscriber: a compute node may
// run many subscribers, and each goroutine costs memory).
func (s *Subscriber) ping() {
	defer s.pingWG.Done()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	live := make([]*subConn, 0, len(s.live))
	for c := range s.live {
		live = append(live, c)
	}
	s.pingWG.Add(1)
	s.pingTimer.Reset(s.o.heartbeat)
	s.mu.Unlock()
	for _, c := range live {
		if c.peer.Minor31() {
			c.send(s.pingMsg)
		}
	}
}

// runner keeps one publisher connected.
type runner struct {
	s      *Subscriber
	ep     pubsub.Endpoint
	addr   endpoint
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	conn      *subConn
	connected bool // a handshake has completed (here or in the runner replaced)
	lastErr   string
}

func newRunner(s *Subscriber, ep pubsub.Endpoint, addr endpoint, connected bool) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &runner{s: s, ep: ep, addr: addr, ctx: ctx, cancel: cancel, done: make(chan struct{}), connected: connected}
}

// stop ends the runner and waits for it.
func (r *runner) stop() {
	r.cancel()
	<-r.done
}

func (r *runner) hadConnection() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connected
}

func (r *runner) stats() EndpointStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return EndpointStats{PublisherID: r.ep.PublisherID, URI: r.ep.URI, Connected: r.conn != nil, LastError: r.lastErr}
}

func (r *runner) setErr(err error) {
	r.mu.Lock()
	r.lastErr = err.Error()
	r.mu.Unlock()
}

// run dials, serves and redials until cancelled.
func (r *runner) run() {
	defer close(r.done)
	log := r.s.log.With("publisher", r.ep.PublisherID, "uri", r.ep.URI)
	stopWatch := context.AfterFunc(r.ctx, func() {
		r.mu.Lock()
		if r.conn != nil {
			_ = r.conn.nc.Close()
		}
		r.mu.Unlock()
	})
	defer stopWatch()
	bo := newBackoff(r.s.o.backoffMin, r.s.o.backoffMax)
	failures := 0
	for r.ctx.Err() == nil {
		began := time.Now()
		err := r.session(log)
		if r.ctx.Err() != nil {
			return
		}
		r.setErr(err)
		if time.Since(began) > r.s.o.backoffMax {
			bo.reset() // a connection that lived is not a failing endpoint
		}
		failures++
		delay := bo.next()
		lvl := slog.LevelDebug
		if failures == 1 || failures%20 == 0 {
			lvl = slog.LevelInfo
		}
		log.Log(r.ctx, lvl, "publisher connection down, retrying", "err", err, "retry_in", delay, "attempt", failures)
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// session runs one connection: dial, handshake, subscribe, read.
func (r *runner) session(log *slog.Logger) error {
	o := &r.s.o
	dctx, cancel := context.WithTimeout(r.ctx, o.handshakeTimeout)
	nc, err := dial(dctx, r.addr)
	cancel()
	if err != nil {
		return err
	}
	c := newConn(&r.s.o, nc, 0)
	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		_ = nc.Close()
		return r.ctx.Err()
	}
	r.conn = c
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.conn = nil
		r.mu.Unlock()
		_ = nc.Close()
	}()
	if err := c.handshake(zmtp.SUB); err != nil {
		if zmtp.IsHostile(err) {
			r.s.rejected.inc(zmtp.Reason(err))
			log.Warn("publisher refused", "reason", zmtp.Reason(err), "err", err)
		}
		return err
	}
	r.s.connects.Add(1)
	src := newSource(r.s.in, log, r.ep.PublisherID, r.ep.URI, c.v2)
	src.authenticated = isCurveConn(c.nc) // CURVE hook: the server proved its key
	r.mu.Lock()
	reconnect := r.connected
	r.connected = true
	r.lastErr = ""
	r.mu.Unlock()
	if reconnect {
		r.s.reconnects.Add(1)
		src.add(item{kind: kGap, ctl: &control{gap: pubsub.Gap{
			Reason: pubsub.GapReconnect, PublisherID: r.ep.PublisherID,
			Err: errors.New("zmq: reconnected to " + r.ep.URI),
		}}})
		src.flush()
	}
	if pos, ok := r.s.takeResume(r.ep.PublisherID); ok {
		// Seed first (the inbox runs items in order: before any event of
		// this connection), then ask for the replay before subscribing.
		r.s.in.post(item{kind: kSeed, ctl: &control{pubID: r.ep.PublisherID,
			hb: heartbeat{pubID: r.ep.PublisherID, epoch: pos.epoch, seqs: seqList(pos.seqs)}}})
		if c.v2 && len(pos.seqs) > 0 {
			c.send(appendResume(nil, r.ep.PublisherID, pos.epoch, pos.seqs))
			r.s.resumesSent.Add(1)
		}
		log.Info("resuming", "epoch", pos.epoch, "topics", len(pos.seqs), "sent", c.v2)
	}
	if !r.s.attach(c) {
		return pubsub.ErrClosed
	}
	defer r.s.detach(c)
	log.Info("connected to publisher", "zmtp", fmt.Sprintf("%d.%d", c.peer.Major, c.peer.Minor),
		"v2", c.v2, "reconnect", reconnect)
	err = src.readLoop(c.r, c.command)
	src.close()
	if zmtp.IsHostile(err) {
		r.s.rejected.inc(zmtp.Reason(err))
		log.Warn("publisher connection cut: protocol error", "reason", zmtp.Reason(err), "err", err)
	}
	return err
}

func seqList(m map[string]uint64) []topicSeq {
	out := make([]topicSeq, 0, len(m))
	for t, s := range m {
		out = append(out, topicSeq{t, s})
	}
	return out
}
