package zmq

// Pull: a ZMTP PULL socket bound on a URI (ipc:// normally), the receiving
// end of the multiproc path: the publisher service takes its API workers'
// PUSHed events here and re-publishes them.
//
// pubsub.Driver has no notion of a subscriber that binds, so a Pull is built
// with Driver.NewPull(ctx, listenURI, cfg) and implements pubsub.Subscriber
// with these meanings: topics are recorded (Topics) but do not filter (PULL
// receives everything, as in Dragonflow); RegisterPublisher fails with an
// error wrapping errors.ErrUnsupported (peers connect to it);
// UnregisterPublisher fails with ErrUnknownPublisher.
//
// Every PUSH peer gets a reader goroutine; they all feed one inbox, so
// OnEvent sees each peer's events in order and the peers interleaved as they
// arrive (fair by arrival). Events carry their origin's meta, so the tracker
// detects gaps per origin (GapSeq, GapEpoch, and GapHeartbeat from a v2
// PUSH's heartbeats); a GapOverflow or GapMalformed of an unknown origin
// names no publisher (PublisherID ""). Close closes the listener and every
// connection, waits for the goroutines and removes the ipc socket file.

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// Pull is the PULL side. Safe for concurrent use; Close must not be called
// from OnEvent or OnGap.
type Pull struct {
	o    options
	log  *slog.Logger
	in   *inbox
	ln   net.Listener
	uri  string
	wg   sync.WaitGroup
	done chan struct{}

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
	topics *prefixSet

	closeOnce sync.Once
	connects  counter
	rejected  reasonCounts
}

var _ pubsub.Subscriber = (*Pull)(nil)

func newPull(o options, listenURI string, cfg pubsub.SubscriberConfig) (*Pull, error) {
	ep, err := parseEndpoint(listenURI)
	if err != nil {
		return nil, err
	}
	ln, err := listen(ep)
	if err != nil {
		return nil, err
	}
	log := o.loggerOr(cfg.Logger).With("pubsub", "zmq", "socket", "PULL")
	p := &Pull{
		o:      o,
		log:    log,
		in:     newInbox(log, cfg, o.deliveryWait, nil, true),
		ln:     ln,
		uri:    advertisedURI(ep, ln, ""),
		done:   make(chan struct{}),
		conns:  map[net.Conn]struct{}{},
		topics: newPrefixSet(),
	}
	for _, t := range cfg.Topics {
		_ = p.RegisterTopic(t)
	}
	p.wg.Go(func() { acceptLoop(p.ln, p.log, nil, p.admit) })
	log.Info("pull socket bound", "listen", ln.Addr().String())
	return p, nil
}

// URI is where PUSH peers connect (bound port resolved).
func (p *Pull) URI() string { return p.uri }

// RegisterTopic records topic (no filtering on a PULL). Idempotent.
func (p *Pull) RegisterTopic(topic string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.topics.counts[topic]; !dup {
		p.topics.add(topic)
	}
	return nil
}

// UnregisterTopic forgets topic. Unknown topics are a no-op.
func (p *Pull) UnregisterTopic(topic string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.topics.remove(topic)
	return nil
}

// Topics returns the recorded topics, sorted.
func (p *Pull) Topics() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.topics.topics()
}

// RegisterPublisher is not supported: PUSH peers connect to a PULL.
func (p *Pull) RegisterPublisher(ep pubsub.Endpoint) error {
	return fmt.Errorf("zmq: a PULL socket binds %s, publishers connect to it (RegisterPublisher %q): %w",
		p.uri, ep.PublisherID, errors.ErrUnsupported)
}

// UnregisterPublisher always fails with ErrUnknownPublisher.
func (p *Pull) UnregisterPublisher(publisherID string) error {
	return fmt.Errorf("zmq: PULL: unregister publisher %q: %w", publisherID, pubsub.ErrUnknownPublisher)
}

// Done is closed once Close has returned.
func (p *Pull) Done() <-chan struct{} { return p.done }

// Err is always nil.
func (p *Pull) Err() error { return nil }

// Close stops accepting, closes every connection, stops delivery and waits
// for the goroutines; an ipc socket file is removed. Idempotent.
func (p *Pull) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		_ = p.ln.Close()
		p.wg.Wait()
		p.in.close()
		close(p.done)
	})
	return nil
}

// Stats returns the counters.
func (p *Pull) Stats() SubscriberStats {
	var st SubscriberStats
	p.in.stats(&st)
	st.Connects = p.connects.Load()
	st.Rejected = p.rejected.snapshot()
	return st
}

// admit registers an accepted PUSH peer and starts serving it; false once
// the Pull is closing.
func (p *Pull) admit(nc net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[nc] = struct{}{}
	p.wg.Go(func() { p.serve(nc) })
	return true
}

// serve runs one PUSH peer.
func (p *Pull) serve(nc net.Conn) {
	defer func() {
		p.mu.Lock()
		delete(p.conns, nc)
		p.mu.Unlock()
		_ = nc.Close()
	}()
	c := newConn(&p.o, nc, 0)
	if err := c.handshake(zmtp.PULL); err != nil {
		if zmtp.IsHostile(err) {
			p.rejected.inc(zmtp.Reason(err))
			p.log.Warn("PUSH peer refused", "reason", zmtp.Reason(err), "err", err)
		}
		return
	}
	p.connects.Add(1)
	log := p.log.With("peer", peerIdentity(c.peer, nc))
	log.Debug("PUSH peer connected", "v2", c.v2)
	src := newSource(p.in, log, "", p.uri, c.v2)
	err := src.readLoop(c.r, c.command)
	src.close()
	if zmtp.IsHostile(err) {
		p.rejected.inc(zmtp.Reason(err))
		log.Warn("PUSH peer cut: protocol error", "reason", zmtp.Reason(err), "err", err)
		return
	}
	log.Debug("PUSH peer gone", "err", err)
}
