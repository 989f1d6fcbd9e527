package zmq_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// startPull binds a PULL on uri (closed at cleanup).
func startPull(t *testing.T, d *zmq.Driver, uri string) (*zmq.Pull, *sink) {
	t.Helper()
	sk := &sink{}
	p, err := d.NewPull(t.Context(), uri, pubsub.SubscriberConfig{OnEvent: sk.onEvent, OnGap: sk.onGap})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p, sk
}

func startPush(t *testing.T, d *zmq.Driver, id, uri string, timeout time.Duration) *zmq.Pusher {
	t.Helper()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: id, Epoch: 1, ListenURI: uri, Multiproc: true, PublishTimeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p.(*zmq.Pusher)
}

// TestPushPullIPC: two PUSH workers deliver over a Unix socket to one PULL,
// each in order with its own meta; Close removes the socket file.
func TestPushPullIPC(t *testing.T) {
	d := fastDriver()
	path := filepath.Join(t.TempDir(), "pub.sock")
	uri := "ipc://" + path
	pull, sk := startPull(t, d, uri)
	require.Equal(t, uri, pull.URI())
	w1 := startPush(t, d, "w1", uri, time.Second)
	w2 := startPush(t, d, "w2", uri, time.Second)
	publishN(t, w1, "D", "w1", 500)
	publishN(t, w2, "tenant", "w2", 500)
	waitUntil(t, "both workers' events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 1000 })
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	per := map[string][]pubsub.Event{}
	for _, ev := range evs {
		per[ev.Meta.PublisherID] = append(per[ev.Meta.PublisherID], ev)
		require.Equal(t, uri, ev.Endpoint)
	}
	for id, list := range per {
		require.Len(t, list, 500, id)
		requireSeqRun(t, list)
		for i, ev := range list {
			require.Equal(t, fmt.Sprintf("%s-%d", id, i), ev.Update.Key)
		}
	}
	require.Equal(t, 1, w1.Subscribers())
	require.NoError(t, w1.Close())
	require.NoError(t, w2.Close())
	require.NoError(t, pull.Close())
	require.NoError(t, pull.Close(), "idempotent")
	_, err := os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist, "the socket file is removed on Close")
	require.ErrorIs(t, pull.RegisterPublisher(pubsub.Endpoint{PublisherID: "x", URI: uri}), errors.ErrUnsupported)
}

// TestPushWithoutPull: with no PULL peer, Publish fills the queue and then
// fails with ErrPublishTimeout within its bound; once a PULL binds, the
// queued events arrive and the seq the timed-out event consumed shows as a
// gap (connect before bind, no silent loss).
func TestPushWithoutPull(t *testing.T) {
	const bound = 200 * time.Millisecond
	d := fastDriver(zmq.WithSendQueue(8))
	uri := "ipc://" + filepath.Join(t.TempDir(), "none.sock")
	w := startPush(t, d, "w", uri, bound)
	publishN(t, w, "D", "q", 8)
	start := time.Now()
	err := w.Publish(context.Background(), upd("D", "late"))
	took := time.Since(start)
	require.ErrorIs(t, err, pubsub.ErrPublishTimeout)
	require.GreaterOrEqual(t, took, bound)
	require.Less(t, took, bound+500*time.Millisecond)
	require.Equal(t, uint64(1), w.Stats().Dropped)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, w.Publish(ctx, upd("D", "cancelled")))

	_, sk := startPull(t, d, uri)
	waitUntil(t, "the queued events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 8 })
	publishN(t, w, "D", "after", 1)
	waitUntil(t, "the event after", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 9 })
	_, gaps := sk.snapshot()
	require.Len(t, gaps, 1, "the lost event is reported exactly once")
	// Revealed by the next event (seq) or, if a sequence heartbeat gets
	// there first, by the heartbeat: both name the one lost event.
	require.Contains(t, []pubsub.GapReason{pubsub.GapSeq, pubsub.GapHeartbeat}, gaps[0].Reason)
	require.Equal(t, uint64(1), gaps[0].Lost)
	require.Equal(t, "w", gaps[0].PublisherID)
}

// TestStaleSocketFile: binding removes a socket file nobody listens on, and
// refuses one somebody does.
func TestStaleSocketFile(t *testing.T) {
	d := fastDriver()
	path := filepath.Join(t.TempDir(), "stale.sock")
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, l.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "a stale socket file is left behind")

	startPull(t, d, "ipc://"+path) // removes the stale file and binds

	_, err = d.NewPull(t.Context(), "ipc://"+path, pubsub.SubscriberConfig{})
	require.ErrorIs(t, err, syscall.EADDRINUSE)
}

// TestPubSubIPC: PUB/SUB over a Unix socket; Close removes the file.
func TestPubSubIPC(t *testing.T) {
	d := fastDriver()
	path := filepath.Join(t.TempDir(), "pub.sock")
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "ipc-pub", Epoch: 1, ListenURI: "ipc://" + path})
	require.NoError(t, err)
	s, sk := startSub(t, d, 0, "D")
	register(t, s, "ipc-pub", p.Info().URI)
	waitSubscribed(t, p.(*zmq.Publisher), 1, "D")
	publishN(t, p, "D", "ev", 100)
	waitUntil(t, "events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 100 })
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "idempotent")
	require.ErrorIs(t, p.Publish(context.Background(), upd("D", "x")), pubsub.ErrClosed)
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestBindWildcard: "tcp://*:0" binds every address; Info().URI advertises
// AdvertiseHost with the bound port, and a subscriber reaches it there.
func TestBindWildcard(t *testing.T) {
	d := fastDriver()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "wild", Epoch: 1, ListenURI: "tcp://*:0", AdvertiseHost: "127.0.0.1"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	uri := p.Info().URI
	require.Regexp(t, `^tcp://127\.0\.0\.1:[1-9][0-9]*$`, uri)
	s, sk := startSub(t, d, 0, "D")
	register(t, s, "wild", uri)
	waitSubscribed(t, p.(*zmq.Publisher), 1, "D")
	publishN(t, p, "D", "ev", 3)
	waitUntil(t, "events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 3 })

	for _, bad := range []string{"udp://x:1", "tcp://nohost", "ipc://", "tcp://127.0.0.1:"} {
		_, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "bad", ListenURI: bad})
		require.Error(t, err, bad)
		require.Error(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "bad", URI: bad}), bad)
	}
}
