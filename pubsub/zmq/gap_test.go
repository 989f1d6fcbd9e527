package zmq_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// fakePub is a hand-driven PUB: it accepts subscribers and lets the test
// write any frames to them.
type fakePub struct {
	ln    net.Listener
	conns chan *rawPeer
}

func newFakePub(t *testing.T, props ...zmtp.Property) *fakePub {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakePub{ln: ln, conns: make(chan *rawPeer, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			r := zmtp.NewReader(nc, 0, 0)
			peer, err := zmtp.Handshake(nc, r, zmtp.PUB, props...)
			if err != nil {
				_ = nc.Close()
				continue
			}
			f.conns <- &rawPeer{Conn: nc, r: r, peer: peer}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		close(f.conns)
		for c := range f.conns {
			_ = c.Close()
		}
	})
	return f
}

func (f *fakePub) uri() string { return "tcp://" + f.ln.Addr().String() }

// accept returns the next subscriber connection, once it has subscribed.
func (f *fakePub) accept(t *testing.T) *rawPeer {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { _ = c.Close() })
		for {
			fr, err := c.r.ReadFrame()
			require.NoError(t, err)
			if sub, _, ok := zmtp.ParseSubscription(fr); ok && sub {
				return c
			}
		}
	case <-time.After(waitTimeout):
		require.FailNow(t, "no subscriber connected")
		return nil
	}
}

// send writes one message of the given frames.
func (p *rawPeer) send(t *testing.T, frames ...[]byte) {
	t.Helper()
	var out []byte
	for i, f := range frames {
		flags := byte(0)
		if i < len(frames)-1 {
			flags = zmtp.FlagMore
		}
		out = zmtp.AppendFrame(out, flags, f)
	}
	_, err := p.Write(out)
	require.NoError(t, err)
}

// event is a v2 body of publisher pub on topic with seq.
func event(pub string, epoch, seq uint64, topic, key string) []byte {
	u := model.DbUpdate{Table: model.TableChassis, Key: key, Action: model.ActionSet, Value: []byte(`{}`), Topic: topic}
	return model.EncodeBody(u, model.Meta{PublisherID: pub, Epoch: epoch, Seq: seq, PublishTime: 1}, model.WireV2)
}

var v2Props = []zmtp.Property{{Name: "X-Df-Version", Value: "2"}}

// TestGapHeartbeat: a v2 publisher's heartbeat showing a newer seq than the
// last delivered is reported as tail loss, with the count, once; topics the
// subscriber does not track are ignored.
func TestGapHeartbeat(t *testing.T) {
	fp := newFakePub(t, v2Props...)
	d := fastDriver()
	s, sk := startSub(t, d, 0, "D")
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "fp", URI: fp.uri()}))
	c := fp.accept(t)
	for seq := uint64(1); seq <= 3; seq++ {
		c.send(t, []byte("D"), event("fp", 7, seq, "D", fmt.Sprint(seq)))
	}
	hb := []byte("\x84\xa6pub_id\xa2fp\xa5epoch\x07\xa4seqs\x82\xa1D\x05\xa5other\x09\xa7dropped\x02")
	c.send(t, []byte("\x00df.hb"), hb)
	c.send(t, []byte("\x00df.hb"), hb) // the same tail again: nothing new
	c.send(t, []byte("D"), event("fp", 7, 6, "D", "6"))
	waitUntil(t, "event 6", func() bool { return sk.count(func(ev pubsub.Event) bool { return ev.Meta.Seq == 6 }) == 1 })
	evs, gaps := sk.snapshot()
	require.Len(t, evs, 4)
	require.Equal(t, []pubsub.Gap{{Reason: pubsub.GapHeartbeat, PublisherID: "fp", Topic: "D", Expected: 4, Got: 5, Lost: 2}}, gaps)
	require.Equal(t, uint64(2), s.Stats().Heartbeats)
}

// TestPublisherHeartbeatContent: a real publisher's heartbeat to a v2 peer
// names only the topics the peer's subscriptions match, with the last seq.
func TestPublisherHeartbeatContent(t *testing.T) {
	d := fastDriver(zmq.WithHeartbeat(20 * time.Millisecond))
	p := startPub(t, d, "pub-hb", "tcp://127.0.0.1:0", 9)
	c := dialRaw(t, p.Info().URI, zmtp.SUB, v2Props...)
	_, err := c.Write(zmtp.AppendSubscribe(nil, true, "a"))
	require.NoError(t, err)
	waitSubscribed(t, p, 1, "a")
	publishN(t, p, "a", "a", 3)
	publishN(t, p, "b", "b", 2)
	publishN(t, p, "ab", "ab", 1)
	var got map[string]uint64
	for got == nil || len(got) < 2 {
		topic, body := readMessage(t, c)
		if topic != "\x00df.hb" {
			continue
		}
		require.Contains(t, string(body), "pub-hb")
		got = parseSeqs(t, body)
	}
	require.Equal(t, map[string]uint64{"a": 3, "ab": 1}, got)
}

// readMessage reads the next data message (skipping commands) as topic and
// last frame.
func readMessage(t *testing.T, c *rawPeer) (string, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	var frames [][]byte
	for {
		f, err := c.r.ReadFrame()
		require.NoError(t, err)
		if f.IsCommand() {
			continue
		}
		frames = append(frames, append([]byte(nil), f.Body...))
		if !f.More() {
			return string(frames[0]), frames[len(frames)-1]
		}
	}
}

// parseSeqs extracts the seqs map of a heartbeat body (a fixmap of
// fixstr → positive fixint, enough for the test).
func parseSeqs(t *testing.T, b []byte) map[string]uint64 {
	t.Helper()
	key := []byte("\xa4seqs")
	i := 0
	for ; i+len(key) <= len(b); i++ {
		if string(b[i:i+len(key)]) == string(key) {
			break
		}
	}
	b = b[i+len(key):]
	n := int(b[0] & 0x0f)
	b = b[1:]
	out := map[string]uint64{}
	for range n {
		l := int(b[0] & 0x1f)
		k := string(b[1 : 1+l])
		out[k] = uint64(b[1+l])
		b = b[2+l:]
	}
	return out
}

// TestGapOverflow: while OnEvent is blocked, the delivery queue (16) fills;
// what does not fit is dropped and reported as GapOverflow, with counts that
// add up, before the next event; no loss is reported twice (no GapSeq).
func TestGapOverflow(t *testing.T) {
	d := fastDriver()
	p := startPub(t, d, "pub-ov", "tcp://127.0.0.1:0", 1)
	release := make(chan struct{})
	var blocked atomic.Bool
	blocked.Store(true)
	sk := &sink{hook: func(pubsub.Event) {
		if blocked.Load() {
			<-release
		}
	}}
	s, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{OnEvent: sk.onEvent, OnGap: sk.onGap, Topics: []string{"D"}, QueueSize: 16})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "D")

	const n = 200
	publishN(t, p, "D", "ev", n)
	waitUntil(t, "the reader to take everything", func() bool {
		return s.(*zmq.Subscriber).Stats().Received == n
	})
	blocked.Store(false)
	close(release)
	waitUntil(t, "the queue to drain", func() bool {
		st := s.(*zmq.Subscriber).Stats()
		return st.Delivered+st.Overflow == n
	})
	publishN(t, p, "D", "after", 1)
	waitUntil(t, "the event after", func() bool {
		return sk.count(func(ev pubsub.Event) bool { return ev.Update.Key == "after-0" }) == 1
	})
	evs, gaps := sk.snapshot()
	var lost uint64
	for _, g := range gaps {
		require.Equal(t, pubsub.GapOverflow, g.Reason, "%v", g)
		require.Equal(t, "pub-ov", g.PublisherID)
		lost += g.Lost
	}
	require.NotEmpty(t, gaps)
	require.Equal(t, uint64(n+1), uint64(len(evs))+lost, "delivered + reported lost = sent")
	require.Equal(t, lost, s.(*zmq.Subscriber).Stats().Overflow)
	for i := 1; i < len(evs); i++ {
		require.Greater(t, evs[i].Meta.Seq, evs[i-1].Meta.Seq)
	}
}

// TestRestartGaps: a publisher killed and restarted on the same port (new
// epoch) is found again by itself; the subscriber reports GapReconnect and
// GapEpoch before the new incarnation's first event.
func TestRestartGaps(t *testing.T) {
	d := fastDriver()
	p1, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "pub-rs", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"})
	require.NoError(t, err)
	uri := p1.Info().URI
	s, sk := startSub(t, d, 0, "D")
	register(t, s, "pub-rs", uri)
	waitSubscribed(t, p1.(*zmq.Publisher), 1, "D")
	publishN(t, p1, "D", "first", 10)
	waitUntil(t, "first events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 10 })
	require.NoError(t, p1.Close())

	p2 := startPub(t, d, "pub-rs", uri, 2)
	waitSubscribed(t, p2, 1, "D")
	publishN(t, p2, "D", "second", 10)
	waitUntil(t, "second events", func() bool {
		return sk.count(func(ev pubsub.Event) bool { return ev.Meta.Epoch == 2 }) == 10
	})
	evs, gaps := sk.snapshot()
	require.Len(t, evs, 20)
	reasons := map[pubsub.GapReason]bool{}
	for _, g := range gaps {
		require.Equal(t, "pub-rs", g.PublisherID)
		reasons[g.Reason] = true
	}
	require.True(t, reasons[pubsub.GapReconnect], "GapReconnect in %v", gaps)
	require.True(t, reasons[pubsub.GapEpoch], "GapEpoch in %v", gaps)
	require.Equal(t, uint64(1), s.Stats().Reconnects)
}

// TestNoFalseGapOnSubset: a subscriber of topic a, while the publisher
// interleaves a and b and sends heartbeats, sees no gap at all.
func TestNoFalseGapOnSubset(t *testing.T) {
	d := fastDriver(zmq.WithHeartbeat(10 * time.Millisecond))
	p := startPub(t, d, "pub-subset", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, d, 0, "a")
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "a")
	ctx := context.Background()
	for r := range 10 {
		hb := s.Stats().Heartbeats
		for i := range 50 {
			k := fmt.Sprint(r, "-", i)
			require.NoError(t, p.Publish(ctx, upd("a", "a"+k)))
			require.NoError(t, p.Publish(ctx, upd("b", "b"+k)))
			require.NoError(t, p.Publish(ctx, upd("ab", "ab"+k)))
		}
		waitUntil(t, "a heartbeat after the round", func() bool { return s.Stats().Heartbeats > hb })
	}
	waitUntil(t, "all a events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 1000 })
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	require.Len(t, evs, 1000)
}

// TestSubscriberCloseUnblocksReader: Close while a reader waits for room in
// a full delivery queue returns promptly.
func TestSubscriberCloseUnblocksReader(t *testing.T) {
	d := fastDriver(zmq.WithDeliveryWait(time.Hour))
	p := startPub(t, d, "pub-close", "tcp://127.0.0.1:0", 1)
	release := make(chan struct{})
	s, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{
		OnEvent: func(pubsub.Event) { <-release }, Topics: []string{"D"}, QueueSize: 2,
	})
	require.NoError(t, err)
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "D")
	publishN(t, p, "D", "x", 20)
	waitUntil(t, "the queue to fill", func() bool { return s.(*zmq.Subscriber).Stats().Received >= 3 })
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	close(release)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(waitTimeout):
		require.FailNow(t, "Close hangs")
	}
	require.ErrorIs(t, s.RegisterTopic("x"), pubsub.ErrClosed)
	require.True(t, errors.Is(s.RegisterPublisher(pubsub.Endpoint{PublisherID: "y", URI: "tcp://127.0.0.1:1"}), pubsub.ErrClosed))
}
