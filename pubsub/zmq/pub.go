package zmq

// Publisher: a ZMTP PUB socket bound on PublisherConfig.ListenURI.
//
// Contract. Publish stamps the event (pubsub.Sequencer), encodes it once
// into an immutable wire message, and puts that message on the send queue of
// every connected subscriber whose subscriptions match the topic (prefix
// match, filtered here as libzmq does), all under one lock: stamp order is
// enqueue order on every connection, so a subscriber sees consecutive seqs
// per topic. Publish never waits for a stuck subscriber: a full queue makes
// it wait for room at most the send wait in all (a subscriber that drains
// paces the publisher, losslessly); after that the queue is lagging and the
// message is dropped for that subscriber only, counted under its identity,
// without further waits until the queue has emptied. The subscriber learns
// of the drop from the next seq or the heartbeat sent after the overflow. A
// connection whose writes make no progress for the write timeout is cut.
//
// Goroutines, all owned by the Publisher and stopped by Close: the accept
// loop; per connection a reader (handshake, then subscriptions and
// heartbeats from the peer) and a writer; one ticker that queues heartbeats
// and PINGs. Errors end up in logs and counters; none is fatal to the
// publisher.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

const (
	// routeCacheMax bounds the topic → connections cache.
	routeCacheMax = 4096
	// fullHeartbeatEvery: every so many rounds a heartbeat names every
	// topic, not only those that changed (a safety net for a heartbeat that
	// could not be queued).
	fullHeartbeatEvery = 10
)

// Publisher is the PUB side. Safe for concurrent use.
type Publisher struct {
	o    options
	log  *slog.Logger
	info pubsub.Info
	// sendWait bounds one Publish's waits for room: the send wait, at most
	// PublishTimeout.
	sendWait time.Duration
	mode     model.WireMode
	seq      *pubsub.Sequencer
	ln       net.Listener
	wg       sync.WaitGroup
	done     chan struct{}

	// mu orders stamping and fan-out, and guards what follows.
	mu      sync.Mutex
	closed  bool
	arena   arena
	conns   []*pubConn
	pending map[net.Conn]struct{} // accepted, handshake running
	routes  map[string][]*pubConn
	hbPrev  map[string]uint64 // Sequencer.Last at the previous heartbeat
	replay  *replayBuffer     // nil: off

	resumes, replayed, resumeMisses counter

	closeOnce sync.Once
	published counter
	accepted  counter
	cut       counter
	rejected  reasonCounts
	// Counters of connections that are gone.
	recent               recentDrops
	goneEnq, goneDropped counter
}

var (
	_ pubsub.Publisher         = (*Publisher)(nil)
	_ pubsub.SubscriberCounter = (*Publisher)(nil)
)

func newPublisher(o options, cfg pubsub.PublisherConfig) (*Publisher, error) {
	ep, err := parseEndpoint(cfg.ListenURI)
	if err != nil {
		return nil, err
	}
	ln, err := listen(ep)
	if err != nil {
		return nil, err
	}
	p := &Publisher{
		o:       o,
		log:     o.loggerOr(cfg.Logger).With("pubsub", "zmq", "socket", "PUB", "publisher", cfg.ID),
		mode:    cfg.WireMode,
		seq:     pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		ln:      ln,
		done:    make(chan struct{}),
		pending: map[net.Conn]struct{}{},
		routes:  map[string][]*pubConn{},
		hbPrev:  map[string]uint64{},
		replay:  newReplayBuffer(o.replayPerTopic, o.replayBytes),
	}
	if cfg.WireMode != model.WireV2 {
		p.replay = nil // no seqs on the wire: nothing to resume from
	}
	p.info = pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch, URI: advertisedURI(ep, ln, cfg.AdvertiseHost)}
	timeout := cfg.PublishTimeout
	if timeout <= 0 {
		timeout = pubsub.DefaultPublishTimeout
	}
	p.sendWait = min(o.sendWait, timeout)
	p.wg.Go(func() { acceptLoop(p.ln, p.log, p.done, p.admit) })
	p.wg.Go(p.tickLoop)
	p.log.Info("publisher bound", "listen", ln.Addr().String(), "uri", p.info.URI)
	return p, nil
}

// Info returns the publisher's id, epoch and advertised URI (bound port
// resolved, wildcard host replaced).
func (p *Publisher) Info() pubsub.Info { return p.info }

// Publish sends u to every subscriber of its topic; see the type's contract.
// It returns ErrClosed after Close and ctx's error if ctx is already done.
func (p *Publisher) Publish(ctx context.Context, u model.DbUpdate) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zmq: publish: %w", err)
	}
	topic := u.TopicOrDefault()
	if topic[0] == 0 {
		return fmt.Errorf("zmq: publish: topic %q: topics starting with NUL are reserved (heartbeats)", topic)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return pubsub.ErrClosed
	}
	meta := p.seq.Stamp(topic)
	route, ok := p.routes[topic]
	if !ok {
		route = p.routeLocked(topic)
	}
	if len(route) > 0 || p.replay != nil {
		msg := p.arena.message(topic, &u, &meta, p.mode)
		if p.replay != nil {
			p.replay.add(topic, meta.Seq, msg)
		}
		if len(route) > 0 {
			w := waiter{d: p.sendWait, done: ctx.Done()}
			for _, c := range route {
				c.q.put(msg, &w)
			}
			w.stop()
		}
	}
	p.mu.Unlock()
	p.published.Add(1)
	return nil
}

// routeLocked computes and caches the connections subscribed to topic.
func (p *Publisher) routeLocked(topic string) []*pubConn {
	var route []*pubConn
	for _, c := range p.conns {
		if c.subs.match(topic) {
			route = append(route, c)
		}
	}
	if len(p.routes) >= routeCacheMax {
		clear(p.routes)
	}
	p.routes[topic] = route
	return route
}

// Close stops accepting, cuts every connection (queued messages are dropped,
// like libzmq with LINGER 0), waits for the goroutines and removes an ipc
// socket file. Idempotent.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		conns := slices.Clone(p.conns) // remove edits p.conns in place
		for c := range p.pending {
			_ = c.Close()
		}
		p.mu.Unlock()
		close(p.done)
		_ = p.ln.Close()
		for _, c := range conns {
			c.shutdown(nil)
		}
		p.wg.Wait()
		p.log.Info("publisher closed")
	})
	return nil
}

// Subscribers returns the number of subscriber connections established
// (pubsub.SubscriberCounter).
func (p *Publisher) Subscribers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() PublisherStats {
	st := PublisherStats{
		Published: p.published.Load(),
		Accepted:  p.accepted.Load(),
		Cut:       p.cut.Load(),
		Rejected:  p.rejected.snapshot(),
		DroppedBy: map[string]uint64{},
	}
	p.recent.into(st.DroppedBy)
	st.Resumes, st.Replayed, st.ResumeMisses = p.resumes.Load(), p.replayed.Load(), p.resumeMisses.Load()
	p.mu.Lock()
	st.ReplayHeld, st.ReplayBytes, st.ReplayEvicted = p.replay.stats()
	conns := append([]*pubConn(nil), p.conns...)
	subs := make([][]string, len(conns))
	for i, c := range conns {
		subs[i] = c.subs.topics()
	}
	p.mu.Unlock()
	for i, c := range conns {
		cs := c.stats()
		cs.Subscriptions = subs[i]
		st.Conns = append(st.Conns, cs)
		if cs.Dropped > 0 {
			st.DroppedBy[c.identity] += cs.Dropped
		}
	}
	st.Enqueued, st.Dropped = p.goneEnq.Load(), p.goneDropped.Load()
	for _, cs := range st.Conns {
		st.Enqueued += cs.Sent
		st.Dropped += cs.Dropped
	}
	return st
}

// admit registers an accepted subscriber connection and starts serving it;
// false once the publisher is closing.
func (p *Publisher) admit(nc net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.pending[nc] = struct{}{}
	p.wg.Go(func() { p.serve(nc) })
	return true
}

// serve runs one subscriber connection: handshake, then its reader; the
// writer runs on its own goroutine.
func (p *Publisher) serve(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	// CURVE hooks (curve.go): secure sets up the encrypting layer under dc
	// (nc itself for NULL); handshake runs the mechanism it was set up for.
	dc := &deadlineConn{Conn: p.o.secure(nc), writeTimeout: p.o.writeTimeout}
	r := zmtp.NewReader(dc, 4<<10, p.o.maxFrame)
	_ = nc.SetDeadline(time.Now().Add(p.o.handshakeTimeout))
	peer, err := handshake(dc.Conn, r, zmtp.PUB,
		zmtp.Property{Name: propVersion, Value: v2}, zmtp.Property{Name: propPubID, Value: p.info.ID})
	p.mu.Lock()
	delete(p.pending, nc)
	closed := p.closed
	p.mu.Unlock()
	if err != nil || closed {
		_ = nc.Close()
		if err != nil {
			p.countRejected(nc.RemoteAddr().String(), err)
		}
		return
	}
	_ = nc.SetDeadline(time.Time{})
	c := newPubConn(p, nc, dc, r, peer)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = nc.Close()
		return
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	p.accepted.Add(1)
	p.log.Info("subscriber connected", "peer", c.identity, "socket_type", peer.SocketType,
		"zmtp", fmt.Sprintf("%d.%d", peer.Major, peer.Minor), "v2", c.v2)
	p.wg.Go(c.writeLoop)
	c.readLoop()
}

// countRejected counts and logs a refused or broken peer.
func (p *Publisher) countRejected(who string, err error) {
	if zmtp.IsHostile(err) {
		p.rejected.inc(zmtp.Reason(err))
		p.log.Warn("peer refused", "peer", who, "reason", zmtp.Reason(err), "err", err)
		return
	}
	p.log.Debug("peer left during handshake", "peer", who, "err", err)
}

// remove forgets a connection that has shut down.
func (p *Publisher) remove(c *pubConn) {
	p.mu.Lock()
	for i, x := range p.conns {
		if x == c {
			p.conns = slices.Delete(p.conns, i, i+1)
			clear(p.routes)
			break
		}
	}
	p.mu.Unlock()
}

// subscription applies a subscriber's SUBSCRIBE or CANCEL.
func (p *Publisher) subscription(c *pubConn, subscribe bool, topic string) {
	p.mu.Lock()
	var changed bool
	if subscribe {
		changed = c.subs.add(topic)
	} else {
		changed = c.subs.remove(topic)
	}
	if changed {
		clear(p.routes)
		c.hbFull = true
		if subscribe && len(c.resume) > 0 {
			p.replayLocked(c)
		}
	}
	p.mu.Unlock()
	p.log.Debug("subscription", "peer", c.identity, "subscribe", subscribe, "topic", topic)
}

// tickLoop queues, every heartbeat interval, a sequence heartbeat for each
// v2 subscriber (the topics that changed since the previous round; all of
// them every fullHeartbeatEvery rounds, and after the subscriber's
// subscriptions changed) and a PING for each ZMTP 3.1 subscriber.
func (p *Publisher) tickLoop() {
	t := time.NewTicker(p.o.heartbeat)
	defer t.Stop()
	ping := zmtp.AppendPing(nil, p.o.pingTTL(), nil)
	round := 0
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		round++
		full := round%fullHeartbeatEvery == 0
		p.mu.Lock()
		var last map[string]uint64
		if p.heartbeats() {
			last = p.seq.Last()
		}
		for _, c := range p.conns {
			if c.peer.Minor31() {
				c.q.putCtrl(ping)
			}
			if last != nil && c.v2 {
				f := c.hbFull || full
				c.hbFull = false
				p.queueHeartbeatLocked(c, last, f)
			}
		}
		if last != nil {
			p.hbPrev = last
		}
		p.mu.Unlock()
	}
}

// heartbeats reports whether sequence heartbeats are sent at all (strict wire
// mode carries no seqs to speak of).
func (p *Publisher) heartbeats() bool {
	return !p.o.disableHeartbeats && p.mode == model.WireV2
}

// heartbeatNow queues a full heartbeat for c at once (after an overflow
// episode), in order with the events already queued.
func (p *Publisher) heartbeatNow(c *pubConn) {
	if !p.heartbeats() || !c.v2 {
		return
	}
	p.mu.Lock()
	if !p.closed {
		p.queueHeartbeatLocked(c, p.seq.Last(), true)
	}
	p.mu.Unlock()
}

// queueHeartbeatLocked queues c's heartbeat: the last seq of every topic c's
// subscriptions match that changed since the previous round (all of them when
// full).
func (p *Publisher) queueHeartbeatLocked(c *pubConn, last map[string]uint64, full bool) {
	_, _, dropped := c.q.counts()
	msg, more := heartbeatMessage(p.info, last, p.hbPrev, full, c.subs.match, dropped)
	if more {
		c.hbFull = true
	}
	if msg != nil {
		c.q.putCtrl(msg)
	}
}

// resume records the positions a v2 subscriber sent (DFRESUME): for its
// topics not yet subscribed on c, replayed when a subscription matches them
// (replayLocked). Positions of another publisher or epoch are ignored, and
// so are topics already subscribed (their live events may already be queued
// on c: a replay could not go before them).
func (p *Publisher) resume(c *pubConn, data []byte) error {
	hb, err := parseHeartbeat(data)
	if err != nil {
		return fmt.Errorf("zmq: resume: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if hb.pubID != p.info.ID || hb.epoch != p.info.Epoch || p.replay == nil {
		p.resumeMisses.Add(uint64(len(hb.seqs)))
		p.log.Info("resume refused: other incarnation or no replay buffer", "peer", c.identity,
			"epoch", hb.epoch, "topics", len(hb.seqs))
		return nil
	}
	if c.resume == nil {
		c.resume = map[string]uint64{}
	}
	for _, ts := range hb.seqs {
		if c.subs.match(ts.topic) || len(c.resume) >= maxResumeTopics {
			p.resumeMisses.Add(1)
			continue
		}
		c.resume[ts.topic] = ts.seq
	}
	return nil
}

// replayLocked queues on c, before any new event, the buffered messages of
// every recorded resume topic its subscriptions now match. p.mu is held.
func (p *Publisher) replayLocked(c *pubConn) {
	for topic, last := range c.resume {
		if !c.subs.match(topic) {
			continue
		}
		delete(c.resume, topic)
		msgs, ok := p.replay.since(topic, last)
		if !ok {
			p.resumeMisses.Add(1)
			p.log.Info("resume not covered by the replay buffer: the subscriber will see a gap",
				"peer", c.identity, "topic", topic, "last", last)
			continue
		}
		p.resumes.Add(1)
		p.replayed.Add(uint64(len(msgs)))
		c.q.putBulk(msgs)
		p.log.Debug("replayed", "peer", c.identity, "topic", topic, "after", last, "events", len(msgs))
	}
}
