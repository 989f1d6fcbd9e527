package zmq_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait for something to happen.
const waitTimeout = 15 * time.Second

// fastDriver is a driver with short timers, for tests.
func fastDriver(opts ...zmq.Option) *zmq.Driver {
	base := []zmq.Option{
		zmq.WithBackoff(10*time.Millisecond, 200*time.Millisecond),
		zmq.WithHeartbeat(100 * time.Millisecond),
		zmq.WithHandshakeTimeout(2 * time.Second),
		zmq.WithIdentity("zmq-test"),
	}
	return zmq.New(append(base, opts...)...)
}

// waitUntil polls cond every few milliseconds until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out waiting", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startPub binds a PUB publisher with id on uri (closed at cleanup).
func startPub(t *testing.T, d *zmq.Driver, id, uri string, epoch uint64) *zmq.Publisher {
	t.Helper()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: id, Epoch: epoch, ListenURI: uri})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p.(*zmq.Publisher)
}

// sink records what a subscriber delivers.
type sink struct {
	mu     sync.Mutex
	events []pubsub.Event
	gaps   []pubsub.Gap
	hook   func(pubsub.Event)
}

func (s *sink) onEvent(ev pubsub.Event) {
	if s.hook != nil {
		s.hook(ev)
	}
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
}

func (s *sink) onGap(g pubsub.Gap) {
	s.mu.Lock()
	s.gaps = append(s.gaps, g)
	s.mu.Unlock()
}

func (s *sink) snapshot() ([]pubsub.Event, []pubsub.Gap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events), slices.Clone(s.gaps)
}

// count returns how many events match.
func (s *sink) count(match func(pubsub.Event) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ev := range s.events {
		if match(ev) {
			n++
		}
	}
	return n
}

func (s *sink) gapsOf(reason pubsub.GapReason) []pubsub.Gap {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pubsub.Gap
	for _, g := range s.gaps {
		if g.Reason == reason {
			out = append(out, g)
		}
	}
	return out
}

// startSub starts a SUB subscriber of topics (closed at cleanup).
func startSub(t *testing.T, d *zmq.Driver, queue int, topics ...string) (*zmq.Subscriber, *sink) {
	t.Helper()
	sk := &sink{}
	s, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{
		OnEvent: sk.onEvent, OnGap: sk.onGap, Topics: topics, QueueSize: queue,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s.(*zmq.Subscriber), sk
}

func register(t *testing.T, s pubsub.Subscriber, id, uri string) {
	t.Helper()
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: id, URI: uri}))
}

// waitSubscribed waits until n connections of p subscribe to topic.
func waitSubscribed(t *testing.T, p *zmq.Publisher, n int, topic string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d subscribers of %q on %s", n, topic, p.Info().ID), func() bool {
		return p.Stats().Subscribed(topic) >= n
	})
}

// upd is a test event with key k on topic.
func upd(topic, k string) model.DbUpdate {
	return model.DbUpdate{Table: model.TableLogicalPort, Key: k, Action: model.ActionSet,
		Value: []byte(`{"id":"` + k + `","name":"` + strings.Repeat("x", 200) + `"}`), Topic: topic}
}

func publishN(t *testing.T, p pubsub.Publisher, topic, tag string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		require.NoError(t, p.Publish(ctx, upd(topic, fmt.Sprintf("%s-%d", tag, i))))
	}
}

// requireSeqRun asserts evs (of one publisher and topic) have consecutive
// seqs, each once.
func requireSeqRun(t *testing.T, evs []pubsub.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		require.Equal(t, evs[i-1].Meta.Seq+1, evs[i].Meta.Seq, "event %d", i)
	}
}

// freePort returns a TCP port nothing listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// rawPeer is a hand-driven ZMTP peer for tests of hostile or stuck peers.
type rawPeer struct {
	net.Conn
	r    *zmtp.Reader
	peer zmtp.Peer
}

// dialRaw connects to uri and completes the handshake as socketType.
func dialRaw(t *testing.T, uri, socketType string, props ...zmtp.Property) *rawPeer {
	t.Helper()
	addr := strings.TrimPrefix(uri, "tcp://")
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	r := zmtp.NewReader(nc, 0, 0)
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	peer, err := zmtp.Handshake(nc, r, socketType, props...)
	require.NoError(t, err)
	_ = nc.SetDeadline(time.Time{})
	return &rawPeer{Conn: nc, r: r, peer: peer}
}
