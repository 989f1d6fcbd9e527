package pubservice_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/testutil"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// sink records what a subscriber delivers.
type sink = testutil.Sink

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second

// fastZMQ reconnects quickly, so tests do not wait for backoff.
func fastZMQ(opts ...zmq.Option) *zmq.Driver {
	return zmq.New(append([]zmq.Option{zmq.WithBackoff(5*time.Millisecond, 50*time.Millisecond)}, opts...)...)
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("PUBSERVICE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// settings are the service's settings from a real config, on a free port
// of 127.0.0.1 and a socket in dir (whose directory does not exist yet).
func settings(t *testing.T, dir string) config.RoleSettings {
	t.Helper()
	cfg := config.New(nil)
	require.NoError(t, cfg.Set(config.GroupNeutron, config.OptPublisherBindingAddress, "127.0.0.1"))
	require.NoError(t, cfg.Set(config.GroupNeutron, config.OptPublisherMultiprocSocket, filepath.Join(dir, "run", "publisher.sock")))
	require.NoError(t, cfg.Set(config.GroupDF, config.OptPublisherTimeout, "2"))
	s, err := cfg.ForRole(config.RolePublisherService)
	require.NoError(t, err)
	s.PublisherPort = 0
	return s
}

// startService starts a service on db with s; closed at cleanup.
func startService(t *testing.T, db nb.Driver, s config.RoleSettings) *pubservice.Service {
	t.Helper()
	svc, err := pubservice.New(t.Context(), pubservice.Config{DB: db, Settings: s, PubSub: fastZMQ(), Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Close()) })
	return svc
}

func ofTable(table string) func(pubsub.Event) bool {
	return func(ev pubsub.Event) bool { return ev.Update.Table == table }
}

// subscribe connects a new subscriber to the publisher at uri (id) on
// topics and waits until the publisher has its subscriptions.
func subscribe(t *testing.T, svc *pubservice.Service, topics ...string) *sink {
	t.Helper()
	sk := &sink{}
	sub, err := fastZMQ().NewSubscriber(t.Context(), pubsub.SubscriberConfig{Topics: topics, OnEvent: sk.OnEvent, OnGap: sk.OnGap})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sub.Close()) })
	require.NoError(t, sub.RegisterPublisher(pubsub.Endpoint{PublisherID: svc.Info().ID, URI: svc.Info().URI}))
	waitSubscribed(t, svc, 1, topics...)
	return sk
}

// waitSubscribed waits until n subscribers of the service's PUB have
// subscribed all of topics.
func waitSubscribed(t *testing.T, svc *pubservice.Service, n int, topics ...string) {
	t.Helper()
	require.Eventually(t, func() bool { return svc.Stats().Pub.Subscribed(topics...) >= n }, waitFor, 2*time.Millisecond)
}

// worker is a neutron-server worker's PUSH to the service's socket.
func worker(t *testing.T, d *zmq.Driver, id, socketURI string, timeout time.Duration) *zmq.Pusher {
	t.Helper()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{
		ID: id, Epoch: pubsub.NewEpoch(), Role: model.RoleNeutronServer, ListenURI: socketURI, Multiproc: true,
		PublishTimeout: timeout, Logger: testLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p.(*zmq.Pusher)
}

func publish(t *testing.T, p pubsub.Publisher, topic, key string) {
	t.Helper()
	require.NoError(t, p.Publish(context.Background(), model.DbUpdate{
		Table: "lswitch", Key: key, Action: model.ActionCreate, Value: []byte(`{"id":"` + key + `"}`), Topic: topic,
	}))
}

func keys(evs []pubsub.Event) string {
	ks := make([]string, len(evs))
	for i, ev := range evs {
		ks[i] = ev.Update.Key
	}
	return strings.Join(ks, ",")
}
