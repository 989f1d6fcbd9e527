package zmq

// Pusher: a ZMTP PUSH socket connected to PublisherConfig.ListenURI, the
// multiproc path (API workers → publisher service, normally over ipc://).
// NewPublisher builds one when PublisherConfig.Multiproc is set.
//
// Contract. Publish stamps the event like a PUB (the service relays it and
// re-publishes with its own sequencer; loss detection on the worker→service
// hop itself is the service's business, helped by the origin's meta, which
// the PULL side tracks per origin) and puts it on one bounded queue that
// outlives connections. When the queue is full — no PULL peer, or a slow one
// — Publish waits for room, at most PublishTimeout (or ctx); then it returns
// an error wrapping pubsub.ErrPublishTimeout, counts the event as lost, and
// consumes its seq so the receiver sees the gap. A background goroutine
// connects (jittered exponential backoff, for ever), writes the queue in
// batches, and reconnects on error; what was being written when a
// connection broke is counted as lost. To a v2 PULL it sends sequence
// heartbeats (tail loss), and ZMTP PINGs to a 3.1 peer. Close stops
// accepting events, lingers until the queue is written (at most
// min(PublishTimeout, 1 s)), then drops and counts the rest.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

const maxLinger = time.Second

// Pusher is the PUSH side. Safe for concurrent use.
type Pusher struct {
	o       options
	log     *slog.Logger
	info    pubsub.Info
	uri     string
	addr    endpoint
	mode    model.WireMode
	seq     *pubsub.Sequencer
	timeout time.Duration
	q       *sendQueue
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	runDone chan struct{}

	// mu orders stamping and enqueueing, and guards what follows.
	mu     sync.Mutex
	closed bool
	arena  arena
	hbPrev map[string]uint64
	hbFull bool

	connMu sync.Mutex
	conn   *subConn

	closeOnce                      sync.Once
	published, lost                counter
	accepted, reconnects, timeouts counter
	rejected                       reasonCounts
}

var (
	_ pubsub.Publisher         = (*Pusher)(nil)
	_ pubsub.SubscriberCounter = (*Pusher)(nil)
)

func newPusher(o options, cfg pubsub.PublisherConfig) (*Pusher, error) {
	addr, err := parseEndpoint(cfg.ListenURI)
	if err != nil {
		return nil, err
	}
	timeout := cfg.PublishTimeout
	if timeout <= 0 {
		timeout = pubsub.DefaultPublishTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pusher{
		o:       o,
		log:     o.loggerOr(cfg.Logger).With("pubsub", "zmq", "socket", "PUSH", "publisher", cfg.ID, "uri", cfg.ListenURI),
		info:    pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch},
		uri:     cfg.ListenURI,
		addr:    addr,
		mode:    cfg.WireMode,
		seq:     pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		timeout: timeout,
		q:       newSendQueue(o.sendQueue),
		ctx:     ctx,
		cancel:  cancel,
		runDone: make(chan struct{}),
		hbPrev:  map[string]uint64{},
	}
	p.wg.Go(p.run)
	p.wg.Go(p.tickLoop)
	return p, nil
}

// Info returns the id and epoch; URI is "" (nobody connects to a PUSH).
func (p *Pusher) Info() pubsub.Info { return p.info }

// Publish queues u for the PULL peer; see the type's contract.
func (p *Pusher) Publish(ctx context.Context, u model.DbUpdate) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("zmq: publish: %w", err)
	}
	topic := u.TopicOrDefault()
	if topic[0] == 0 {
		return fmt.Errorf("zmq: publish: topic %q: topics starting with NUL are reserved (heartbeats)", topic)
	}
	var timer *time.Timer
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return pubsub.ErrClosed
		}
		full, room := p.q.waitRoom()
		if !full {
			break
		}
		p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(p.timeout)
			defer timer.Stop()
		}
		select {
		case <-room:
		case <-timer.C:
			return p.giveUp(topic, fmt.Errorf("zmq: publish to %s: queue of %d full for %v: %w",
				p.uri, p.q.limit, p.timeout, pubsub.ErrPublishTimeout))
		case <-ctx.Done():
			return p.giveUp(topic, fmt.Errorf("zmq: publish to %s: %w: %w", p.uri, pubsub.ErrPublishTimeout, ctx.Err()))
		}
		p.mu.Lock()
	}
	meta := p.seq.Stamp(topic)
	ok := p.q.put(p.arena.message(topic, &u, &meta, p.mode), nil)
	p.mu.Unlock()
	if !ok { // cannot happen: room was checked under the same lock
		p.lost.Add(1)
		return fmt.Errorf("zmq: publish to %s: queue refused the event: %w", p.uri, pubsub.ErrClosed)
	}
	p.published.Add(1)
	return nil
}

// giveUp consumes the seq of an event that could not be queued, so the
// receiver sees the gap, and counts it as lost.
func (p *Pusher) giveUp(topic string, err error) error {
	p.mu.Lock()
	if !p.closed {
		p.seq.Stamp(topic)
	}
	p.mu.Unlock()
	p.timeouts.Add(1)
	p.lost.Add(1)
	return err
}

// Close stops accepting events, lingers until the queue is written (see the
// type's contract), and waits for the goroutines. Idempotent.
func (p *Pusher) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.q.close()
		if queued, _, _ := p.q.counts(); queued > 0 {
			// Linger, also while (re)connecting: events queued before Close
			// are written if a PULL peer takes them within the bound.
			t := time.NewTimer(min(p.timeout, maxLinger))
			select {
			case <-p.runDone:
			case <-t.C:
			}
			t.Stop()
		}
		p.cancel()
		p.wg.Wait()
		p.log.Info("push socket closed", "lost", p.lost.Load())
	})
	return nil
}

// Subscribers returns 1 while a PULL peer is connected, else 0
// (pubsub.SubscriberCounter).
func (p *Pusher) Subscribers() int {
	p.connMu.Lock()
	defer p.connMu.Unlock()
	if p.conn != nil {
		return 1
	}
	return 0
}

// Stats returns the counters. Enqueued counts events queued, Dropped events
// lost (timed out, in a broken connection's last batch, or left at Close).
func (p *Pusher) Stats() PublisherStats {
	queued, enq, _ := p.q.counts()
	st := PublisherStats{
		Published:  p.published.Load(),
		Enqueued:   enq,
		Dropped:    p.lost.Load(),
		Accepted:   p.accepted.Load(),
		Reconnects: p.reconnects.Load(),
		Rejected:   p.rejected.snapshot(),
	}
	p.connMu.Lock()
	if c := p.conn; c != nil {
		st.Conns = []ConnStats{{
			Identity: p.uri, Remote: p.uri, SocketType: c.peer.SocketType, V2: c.v2, Queued: queued, Sent: enq,
		}}
	}
	p.connMu.Unlock()
	return st
}

// run connects and writes until Close.
func (p *Pusher) run() {
	defer close(p.runDone)
	defer func() {
		if n := p.q.drain(); n > 0 {
			p.lost.Add(uint64(n))
			p.log.Warn("events not delivered at close", "lost", n)
		}
	}()
	stopWatch := context.AfterFunc(p.ctx, func() {
		p.connMu.Lock()
		if p.conn != nil {
			_ = p.conn.nc.Close()
		}
		p.connMu.Unlock()
	})
	defer stopWatch()
	bo := newBackoff(p.o.backoffMin, p.o.backoffMax)
	failures := 0
	for {
		began := time.Now()
		err := p.session()
		if err == nil || p.ctx.Err() != nil {
			return // closed, queue written
		}
		if time.Since(began) > p.o.backoffMax {
			bo.reset()
		}
		failures++
		delay := bo.next()
		lvl := slog.LevelDebug
		if failures == 1 || failures%20 == 0 {
			lvl = slog.LevelInfo
		}
		p.log.Log(p.ctx, lvl, "PULL peer unreachable, retrying", "err", err, "retry_in", delay, "attempt", failures)
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// session runs one connection; nil means the queue was closed and written.
func (p *Pusher) session() error {
	dctx, cancel := context.WithTimeout(p.ctx, p.o.handshakeTimeout)
	nc, err := dial(dctx, p.addr)
	cancel()
	if err != nil {
		return err
	}
	c := newConn(&p.o, nc, 4<<10)
	c.dc.writeTimeout = p.o.writeTimeout
	defer func() { _ = nc.Close() }()
	if err := c.handshake(zmtp.PUSH); err != nil {
		if zmtp.IsHostile(err) {
			p.rejected.inc(zmtp.Reason(err))
			p.log.Warn("PULL peer refused", "reason", zmtp.Reason(err), "err", err)
		}
		return err
	}
	if p.accepted.Add(1) > 1 {
		p.reconnects.Add(1)
	}
	p.connMu.Lock()
	if p.ctx.Err() != nil {
		p.connMu.Unlock()
		return p.ctx.Err()
	}
	p.conn = c
	p.connMu.Unlock()
	p.mu.Lock()
	p.hbFull = true
	p.mu.Unlock()
	p.log.Info("connected to PULL peer", "v2", c.v2)
	defer func() {
		p.connMu.Lock()
		p.conn = nil
		p.connMu.Unlock()
	}()

	down := make(chan struct{})
	var readErr error
	p.wg.Go(func() {
		defer close(down)
		readErr = p.readCommands(c)
		_ = nc.Close()
	})
	werr := p.writeLoop(c, down)
	_ = nc.Close()
	<-down
	switch {
	case werr == nil && readErr == nil:
		return nil
	case werr != nil:
		return werr
	case readErr != nil:
		return readErr
	}
	return errors.New("zmq: PULL peer went away")
}

// writeLoop writes the queue to c until the queue is closed and empty (nil),
// the connection goes down or a write fails.
func (p *Pusher) writeLoop(c *subConn, down <-chan struct{}) error {
	unwritten, err := drainQueue(p.q, c.dc, down, nil)
	if err != nil {
		p.lost.Add(uint64(unwritten))
		return err
	}
	select {
	case <-down:
		return errors.New("zmq: PULL peer went away")
	default:
		return nil
	}
}

// readCommands reads what the PULL peer sends (PING, PONG, ERROR; data is
// ignored) until the connection ends.
func (p *Pusher) readCommands(c *subConn) error {
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			if zmtp.IsHostile(err) {
				p.rejected.inc(zmtp.Reason(err))
			}
			return err
		}
		if !f.IsCommand() {
			continue
		}
		cmd, err := zmtp.ParseCommand(f.Body)
		if err != nil {
			p.rejected.inc(zmtp.Reason(err))
			return err
		}
		switch cmd.Name {
		case zmtp.CmdPing:
			_, ctx, err := zmtp.ParsePing(cmd.Data)
			if err != nil {
				return err
			}
			p.q.putCtrl(zmtp.AppendPong(nil, ctx))
		case zmtp.CmdPong:
			c.dc.readTimeout = p.o.peerTimeout
		case zmtp.CmdError:
			return errors.Join(zmtp.ErrPeerError, errors.New(zmtp.ParseError(cmd.Data)))
		}
	}
}

// tickLoop queues PINGs (3.1 peer) and sequence heartbeats (v2 peer) every
// heartbeat interval while connected.
func (p *Pusher) tickLoop() {
	t := time.NewTicker(p.o.heartbeat)
	defer t.Stop()
	ping := zmtp.AppendPing(nil, p.o.pingTTL(), nil)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		p.connMu.Lock()
		c := p.conn
		p.connMu.Unlock()
		if c == nil {
			continue
		}
		if c.peer.Minor31() {
			p.q.putCtrl(ping)
		}
		if !c.v2 || p.o.disableHeartbeats || p.mode != model.WireV2 {
			continue
		}
		p.mu.Lock()
		if !p.closed {
			last := p.seq.Last()
			msg, more := heartbeatMessage(p.info, last, p.hbPrev, p.hbFull, func(string) bool { return true }, p.lost.Load())
			p.hbFull = more
			p.hbPrev = last
			if msg != nil {
				p.q.putCtrl(msg)
			}
		}
		p.mu.Unlock()
	}
}
