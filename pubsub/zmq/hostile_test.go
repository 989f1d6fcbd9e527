package zmq_test

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// requireClosedByPeer reads c until the peer closes it.
func requireClosedByPeer(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	_, err := io.Copy(io.Discard, c)
	require.NoError(t, err, "the peer closes the connection (EOF), no timeout")
}

// greeting returns a 64-byte ZMTP 3.1 greeting for mechanism mech.
func greeting(mech string) []byte {
	g := append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1}, mech...)
	return append(g, make([]byte, 64-len(g))...)
}

// TestHostilePeersOfPublisher: each hostile peer has only its own
// connection closed, with the reason counted; a healthy subscriber goes on
// receiving throughout.
func TestHostilePeersOfPublisher(t *testing.T) {
	d := fastDriver(zmq.WithMaxFrameSize(1024))
	p := startPub(t, d, "pub-hostile", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, d, 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "D")
	addr := strings.TrimPrefix(p.Info().URI, "tcp://")
	raw := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	sent := 0
	healthy := func() {
		t.Helper()
		publishN(t, p, "D", "ok", 1)
		sent++
		waitUntil(t, "the healthy subscriber", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == sent })
	}
	cases := []struct {
		name, reason string
		attack       func() net.Conn
	}{
		{"wrong greeting", "greeting", func() net.Conn {
			c := raw()
			_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			return c
		}},
		{"unknown mechanism", "mechanism", func() net.Conn {
			c := raw()
			_, _ = c.Write(greeting("CURVE"))
			return c
		}},
		{"wrong socket type", "socket_type", func() net.Conn {
			c := raw()
			_, _ = c.Write(append(greeting("NULL"), zmtp.AppendReady(nil, zmtp.Property{Name: "Socket-Type", Value: "PUSH"})...))
			return c
		}},
		{"oversized frame", "frame_too_large", func() net.Conn {
			c := dialRaw(t, p.Info().URI, zmtp.SUB)
			hdr := binary.BigEndian.AppendUint64([]byte{zmtp.FlagLong}, 1<<40)
			_, _ = c.Write(hdr)
			return c
		}},
		{"truncated frame", "truncated", func() net.Conn {
			c := dialRaw(t, p.Info().URI, zmtp.SUB)
			_, _ = c.Write(append([]byte{0, 200}, make([]byte, 50)...))
			_ = c.Conn.(*net.TCPConn).CloseWrite()
			return c
		}},
		{"bad flags", "frame_flags", func() net.Conn {
			c := dialRaw(t, p.Info().URI, zmtp.SUB)
			_, _ = c.Write([]byte{0x80, 1, 'x'})
			return c
		}},
		{"malformed command", "command", func() net.Conn {
			c := dialRaw(t, p.Info().URI, zmtp.SUB)
			_, _ = c.Write([]byte{zmtp.FlagCommand, 3, 9, 'S', 'U'})
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := p.Stats().Rejected[tc.reason]
			c := tc.attack()
			requireClosedByPeer(t, c)
			waitUntil(t, "the rejection counted", func() bool { return p.Stats().Rejected[tc.reason] == before+1 })
			healthy()
		})
	}
	_, gaps := sk.snapshot()
	require.Empty(t, gaps)
	require.Equal(t, 1, p.Subscribers())
}

// TestHostilePublisher: what a subscriber does with a publisher's bad
// input. Garbage msgpack and messages that are not two frames drop that
// message only (counted, reported as GapMalformed) and the connection goes
// on; broken framing closes the connection, which is dialled again.
func TestHostilePublisher(t *testing.T) {
	fp := newFakePub(t, v2Props...)
	d := fastDriver(zmq.WithMaxFrameSize(4096))
	s, sk := startSub(t, d, 0, "D")
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "fp", URI: fp.uri()}))
	c := fp.accept(t)
	seq := uint64(0)
	good := func(c *rawPeer) {
		t.Helper()
		seq++
		c.send(t, []byte("D"), event("fp", 1, seq, "D", "good"))
		waitUntil(t, "the good event", func() bool {
			return sk.count(func(ev pubsub.Event) bool { return ev.Meta.Seq == seq }) == 1
		})
	}
	good(c)
	c.send(t, []byte("D"), []byte("\xc1 not msgpack"))
	good(c)
	c.send(t, []byte("D"), []byte("three"), []byte("frames"))
	good(c)
	c.send(t, []byte("D"))
	good(c)
	st := s.Stats()
	require.Equal(t, uint64(1), st.DecodeErrors)
	require.Equal(t, uint64(2), st.BadMessages)
	_, gaps := sk.snapshot()
	require.Len(t, gaps, 3)
	for _, g := range gaps {
		require.Equal(t, pubsub.Gap{Reason: pubsub.GapMalformed, PublisherID: "fp", Topic: "D", Lost: 1}, g)
	}

	// An oversized frame: the connection is cut and dialled again.
	_, _ = c.Write(binary.BigEndian.AppendUint64([]byte{zmtp.FlagLong}, 1<<20))
	c2 := fp.accept(t)
	requireClosedByPeer(t, c.Conn)
	good(c2)
	require.Equal(t, uint64(1), s.Stats().Rejected["frame_too_large"])

	// An ERROR command: the same.
	_, _ = c2.Write(zmtp.AppendError(nil, "go away"))
	c3 := fp.accept(t)
	good(c3)
	require.Equal(t, uint64(1), s.Stats().Rejected["peer_error"])
	require.Equal(t, uint64(2), s.Stats().Reconnects)
}

// TestHostilePushPeer: garbage from a PUSH peer is dropped and counted; the
// PULL keeps serving other peers.
func TestHostilePushPeer(t *testing.T) {
	d := fastDriver()
	uri := "ipc://" + t.TempDir() + "/pull.sock"
	pull, sk := startPull(t, d, uri)
	c, err := net.Dial("unix", strings.TrimPrefix(uri, "ipc://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	r := zmtp.NewReader(c, 0, 0)
	_, err = zmtp.Handshake(c, r, zmtp.PUSH)
	require.NoError(t, err)
	peer := &rawPeer{Conn: c, r: r}
	peer.send(t, []byte("D"), []byte{0x85, 0xa5})
	peer.send(t, []byte("D"), event("raw", 1, 1, "D", "fine"))
	waitUntil(t, "the good event", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 1 })
	require.Equal(t, uint64(1), pull.Stats().DecodeErrors)
	_, err = c.Write([]byte{0xff, 0xff})
	require.NoError(t, err)
	requireClosedByPeer(t, c)
	waitUntil(t, "the bad framing counted", func() bool { return pull.Stats().Rejected["frame_flags"] == 1 })

	w := startPush(t, d, "w", uri, time.Second)
	publishN(t, w, "D", "w", 10)
	waitUntil(t, "the worker's events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 11 })
}

// TestSilentPeerCut: a v2 peer (it promises to answer heartbeats) that goes
// silent is cut after the peer timeout; a subscriber whose publisher goes
// silent reconnects and reports it.
func TestSilentPeerCut(t *testing.T) {
	const timeout = 150 * time.Millisecond
	d := fastDriver(zmq.WithHeartbeat(20*time.Millisecond), zmq.WithPeerTimeout(timeout))
	p := startPub(t, d, "pub-silent", "tcp://127.0.0.1:0", 1)
	c := dialRaw(t, p.Info().URI, zmtp.SUB, v2Props...)
	_, err := c.Write(zmtp.AppendSubscribe(nil, true, "D"))
	require.NoError(t, err)
	waitSubscribed(t, p, 1, "D")
	waitUntil(t, "the silent peer cut", func() bool { return p.Stats().Cut == 1 && p.Subscribers() == 0 })

	fp := newFakePub(t, v2Props...)
	s, sk := startSub(t, d, 0, "D")
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "fp", URI: fp.uri()}))
	fp.accept(t) // never answers PINGs
	c2 := fp.accept(t)
	c2.send(t, []byte("D"), event("fp", 1, 1, "D", "after"))
	waitUntil(t, "the event after the reconnect", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 1 })
	_, gaps := sk.snapshot()
	require.Equal(t, pubsub.GapReconnect, gaps[0].Reason)
}
