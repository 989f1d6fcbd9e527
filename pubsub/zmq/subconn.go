package zmq

// subConn is one connection of a subscriber-side socket (SUB to a PUB, PUSH
// to a PULL peer's commands, PULL from a PUSH): the handshake, the reader
// and the small writes (subscriptions, PING, PONG) this side sends. Writes
// are serialised by a mutex and bounded by the write timeout; a failed write
// closes the connection, which ends its reader.

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

type subConn struct {
	o    *options
	nc   net.Conn
	dc   *deadlineConn
	r    *zmtp.Reader
	peer zmtp.Peer
	v2   bool // the peer announced X-Df-Version

	wmu sync.Mutex
}

// newConn wraps nc; bufSize 0 means the default read buffer.
func newConn(o *options, nc net.Conn, bufSize int) *subConn {
	nc = o.secure(nc) // CURVE hook (curve.go): the encrypting layer, or nc (NULL)
	dc := &deadlineConn{Conn: nc}
	return &subConn{o: o, nc: nc, dc: dc, r: zmtp.NewReader(dc, bufSize, o.maxFrame)}
}

// handshake runs the ZMTP handshake as socketType, announcing this side as
// v2 with its identity, within the handshake timeout.
func (c *subConn) handshake(socketType string) error {
	_ = c.nc.SetDeadline(time.Now().Add(c.o.handshakeTimeout))
	peer, err := handshake(c.nc, c.r, socketType, // CURVE hook: NULL or CURVE (curve.go)
		zmtp.Property{Name: zmtp.PropIdentity, Value: c.o.identity},
		zmtp.Property{Name: propVersion, Value: v2})
	if err != nil {
		return err
	}
	_ = c.nc.SetDeadline(time.Time{})
	c.peer = peer
	c.v2 = peer.Metadata.Get(propVersion) == v2
	if c.v2 {
		c.dc.readTimeout = c.o.peerTimeout
	}
	return nil
}

// send writes b at once (best effort: a failure closes the connection).
func (c *subConn) send(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.o.writeTimeout))
	if _, err := c.nc.Write(b); err != nil {
		_ = c.nc.Close()
	}
}

// command handles a command from the peer on the reading goroutine.
func (c *subConn) command(cmd zmtp.Command) error {
	switch cmd.Name {
	case zmtp.CmdPing:
		_, ctx, err := zmtp.ParsePing(cmd.Data)
		if err != nil {
			return err
		}
		c.send(zmtp.AppendPong(nil, ctx))
	case zmtp.CmdPong:
		// The peer answers heartbeats: its silence now counts.
		c.dc.readTimeout = c.o.peerTimeout
	case zmtp.CmdError:
		return errors.Join(zmtp.ErrPeerError, errors.New(zmtp.ParseError(cmd.Data)))
	}
	return nil
}
