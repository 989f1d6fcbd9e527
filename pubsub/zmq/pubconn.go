package zmq

// pubConn is one subscriber of a Publisher: its subscriptions, its bounded
// send queue, a reader goroutine (subscriptions, PING/PONG, ERROR from the
// peer) and a writer goroutine (everything queued, batched into a 64 KiB
// buffer, flushed when the queue is empty). Either goroutine ending shuts the
// connection down: the socket is closed, what is still queued is dropped and
// counted, and the publisher forgets the connection.

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

const (
	writeBuffer = 64 << 10
	// overflowLogEvery rate-limits the overflow warning of one connection.
	overflowLogEvery = time.Second
	// overflowHBEvery rate-limits the heartbeat sent after an overflow.
	overflowHBEvery = 100 * time.Millisecond
)

type pubConn struct {
	p        *Publisher
	nc       net.Conn
	dc       *deadlineConn
	r        *zmtp.Reader
	peer     zmtp.Peer
	identity string
	v2       bool
	since    time.Time
	q        *sendQueue
	done     chan struct{}
	once     sync.Once

	// Guarded by p.mu.
	subs   *prefixSet
	hbFull bool
	resume map[string]uint64 // DFRESUME positions not yet subscribed

	// Writer-owned.
	lastWarn, lastHB time.Time
	episodeDrops     uint64
}

func newPubConn(p *Publisher, nc net.Conn, dc *deadlineConn, r *zmtp.Reader, peer zmtp.Peer) *pubConn {
	return &pubConn{
		p:        p,
		nc:       nc,
		dc:       dc,
		r:        r,
		peer:     peer,
		identity: peerIdentity(peer, nc),
		v2:       peer.Metadata.Get(propVersion) == v2,
		since:    time.Now(),
		q:        newSendQueue(p.o.sendQueue),
		done:     make(chan struct{}),
		subs:     newPrefixSet(),
	}
}

// peerIdentity names a peer in logs and counters: "identity@remote", or the
// remote address alone.
func peerIdentity(peer zmtp.Peer, nc net.Conn) string {
	remote := nc.RemoteAddr().String()
	if remote == "" || remote == "@" {
		remote = "ipc:" + nc.LocalAddr().String()
	}
	if peer.Identity != "" {
		return peer.Identity + "@" + remote
	}
	return remote
}

// readLoop handles what the subscriber sends until the connection ends.
func (c *pubConn) readLoop() {
	if c.v2 {
		c.dc.readTimeout = c.p.o.peerTimeout
	}
	inMessage := false // inside a multi-frame data message, which is ignored
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			c.shutdown(err)
			return
		}
		if inMessage {
			inMessage = f.More()
			continue
		}
		if f.IsCommand() {
			if err := c.command(f); err != nil {
				c.shutdown(err)
				return
			}
			continue
		}
		if f.More() {
			inMessage = true
			continue
		}
		if sub, topic, ok := zmtp.ParseSubscription(f); ok {
			c.p.subscription(c, sub, string(topic))
		}
	}
}

func (c *pubConn) command(f zmtp.Frame) error {
	cmd, err := zmtp.ParseCommand(f.Body)
	if err != nil {
		return err
	}
	switch cmd.Name {
	case zmtp.CmdSubscribe, zmtp.CmdCancel:
		c.p.subscription(c, cmd.Name == zmtp.CmdSubscribe, string(cmd.Data))
	case zmtp.CmdPing:
		_, ctx, err := zmtp.ParsePing(cmd.Data)
		if err != nil {
			return err
		}
		c.q.putCtrl(zmtp.AppendPong(nil, ctx))
	case zmtp.CmdPong:
		// The peer answers heartbeats: from now on its silence counts.
		c.dc.readTimeout = c.p.o.peerTimeout
	case zmtp.CmdError:
		return errors.Join(zmtp.ErrPeerError, errors.New(zmtp.ParseError(cmd.Data)))
	case cmdResume:
		if c.v2 {
			if err := c.p.resume(c, cmd.Data); err != nil {
				c.p.log.Warn("resume dropped", "peer", c.identity, "err", err)
			}
		}
	}
	return nil
}

// writeLoop writes queued messages until the connection ends.
func (c *pubConn) writeLoop() {
	if _, err := drainQueue(c.q, c.dc, c.done, c.overflowed); err != nil {
		c.shutdown(err)
	}
}

// overflowed reports drops of an overflow episode that just ended: a
// warning (rate-limited) and, for a v2 peer, a heartbeat so it learns of the
// loss even if no later event follows.
func (c *pubConn) overflowed(n uint64) {
	c.episodeDrops += n
	now := time.Now()
	if now.Sub(c.lastWarn) >= overflowLogEvery {
		c.p.log.Warn("subscriber queue overflowed, events dropped for it",
			"peer", c.identity, "dropped", c.episodeDrops, "queue", c.q.limit)
		c.lastWarn, c.episodeDrops = now, 0
	}
	if now.Sub(c.lastHB) >= overflowHBEvery {
		c.lastHB = now
		c.p.heartbeatNow(c)
	}
}

// shutdown ends the connection once; err is why (nil: the publisher closes).
func (c *pubConn) shutdown(err error) {
	c.once.Do(func() {
		close(c.done)
		_ = c.nc.Close()
		c.q.close()
		left := c.q.drain()
		c.p.remove(c)
		_, enq, dropped := c.q.counts()
		dropped += uint64(left)
		c.p.goneEnq.Add(enq)
		c.p.goneDropped.Add(dropped)
		c.p.recent.add(c.identity, dropped)
		c.logEnd(err, dropped)
	})
}

func (c *pubConn) logEnd(err error, dropped uint64) {
	log := c.p.log.With("peer", c.identity, "dropped", dropped)
	var ne net.Error
	switch {
	case err == nil:
		log.Debug("subscriber connection closed")
	case errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne):
		c.p.cut.Add(1)
		log.Warn("subscriber cut: stuck or silent beyond its timeout", "err", err)
	case zmtp.IsHostile(err):
		c.p.rejected.inc(zmtp.Reason(err))
		log.Warn("subscriber cut: protocol error", "reason", zmtp.Reason(err), "err", err)
	default:
		log.Info("subscriber disconnected", "err", err)
	}
}

func (c *pubConn) stats() ConnStats {
	queued, enq, dropped := c.q.counts()
	return ConnStats{
		Identity:   c.identity,
		Remote:     c.nc.RemoteAddr().String(),
		SocketType: c.peer.SocketType,
		V2:         c.v2,
		Queued:     queued,
		Sent:       enq,
		Dropped:    dropped,
		Since:      c.since,
	}
}
