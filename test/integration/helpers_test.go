package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/testutil"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// sink records what a subscriber delivers.
type sink = testutil.Sink

const (
	waitFor = 10 * time.Second
	poll    = 5 * time.Millisecond
	// ttl is [df] publisher_timeout in these tests.
	ttl = 2 * time.Second
)

func logger(t *testing.T) *slog.Logger {
	if os.Getenv("INTEGRATION_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// fastZMQ reconnects quickly, so tests do not wait for backoff.
func fastZMQ(opts ...zmq.Option) *zmq.Driver {
	return zmq.New(append([]zmq.Option{zmq.WithBackoff(5*time.Millisecond, 100*time.Millisecond)}, opts...)...)
}

// nbEnv is an embedded etcd in t.TempDir(), served on a unix socket.
type nbEnv struct {
	dir      string
	endpoint string
}

func startNB(t *testing.T) *nbEnv {
	t.Helper()
	dir := t.TempDir()
	srv, err := embedded.Start(t.Context(), embedded.Config{
		DataDir: filepath.Join(dir, "data"), ClientSocket: filepath.Join(dir, "etcd.sock"), Logger: logger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return &nbEnv{dir: dir, endpoint: srv.Endpoints()[0]}
}

// dial opens a connection to the NB DB, as one more process would.
func (e *nbEnv) dial(t *testing.T) nb.Driver {
	t.Helper()
	db, err := etcd.New(t.Context(), etcd.Options{Endpoints: []string{e.endpoint}, Logger: logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// freePort returns a TCP port of 127.0.0.1 nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hostConfig describes one process's configuration file.
type hostConfig struct {
	host          string
	neutronPort   int
	socket        string
	multiproc     bool
	controllerPrt int
}

// write writes the configuration into a file of t.TempDir() and loads it.
func (e *nbEnv) write(t *testing.T, h hostConfig) (string, *config.Config) {
	t.Helper()
	body := fmt.Sprintf(`[DEFAULT]
host = %s
[df]
nb_db_driver = etcd
remote_db_hosts = %s
publisher_timeout = %d
[neutron]
publisher_port = %d
publisher_binding_address = 127.0.0.1
publisher_multiproc_socket = %s
pub_sub_use_multiproc = %t
[controller]
publisher_port = %d
publisher_binding_address = 127.0.0.1
`, h.host, e.endpoint, int(ttl/time.Second), h.neutronPort, h.socket, h.multiproc, h.controllerPrt)
	path := filepath.Join(t.TempDir(), h.host+".ini")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	cfg, err := config.Load([]string{path}, logger(t))
	require.NoError(t, err)
	return path, cfg
}

// startService runs a publisher service in this process.
func startService(t *testing.T, db nb.Driver, cfg *config.Config) *pubservice.Service {
	t.Helper()
	s, err := cfg.ForRole(config.RolePublisherService)
	require.NoError(t, err)
	svc, err := pubservice.New(t.Context(), pubservice.Config{DB: db, Settings: s, PubSub: fastZMQ(), Logger: logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Close()) })
	return svc
}

func byKey(key string) func(pubsub.Event) bool {
	return func(ev pubsub.Event) bool { return ev.Update.Key == key }
}

func byTable(table string) func(pubsub.Event) bool {
	return func(ev pubsub.Event) bool { return ev.Update.Table == table }
}

// subscriber is a zmq subscriber driven by discovery of roles.
type subscriber struct {
	*sink
	sub  *zmq.Subscriber
	disc *discovery.Discovery
}

func discoverSub(t *testing.T, db nb.Driver, roles []string, topics ...string) *subscriber {
	t.Helper()
	sk := &sink{}
	s, err := fastZMQ().NewSubscriber(t.Context(), pubsub.SubscriberConfig{
		Topics: topics, OnEvent: sk.OnEvent, OnGap: sk.OnGap, Logger: logger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	d, err := discovery.Discover(t.Context(), db, s, roles, discovery.WithLogger(logger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return &subscriber{sink: sk, sub: s.(*zmq.Subscriber), disc: d}
}

// publisherIDs are the ids the discovery holds now.
func (s *subscriber) publisherIDs() []string {
	var ids []string
	for _, p := range s.disc.Publishers() {
		ids = append(ids, p.ID)
	}
	return ids
}

// connected reports whether the subscriber has a live connection to id.
func (s *subscriber) connected(id string) bool {
	for _, ep := range s.sub.Stats().Endpoints {
		if ep.PublisherID == id {
			return ep.Connected
		}
	}
	return false
}

// registered reports whether the subscriber holds id at all.
func (s *subscriber) registered(id string) bool {
	for _, ep := range s.sub.Stats().Endpoints {
		if ep.PublisherID == id {
			return true
		}
	}
	return false
}

// svcStats is the service PUB's counters.
func svcStats(svc *pubservice.Service) func() zmq.PublisherStats {
	return func() zmq.PublisherStats { return svc.Stats().Pub }
}

// pubStats is the counters of the zmq PUB behind p (NbApi wraps it with
// its registration).
func pubStats(t *testing.T, p pubsub.Publisher) func() zmq.PublisherStats {
	return zmqPub(t, p).Stats
}

// zmqPub is the zmq PUB behind p.
func zmqPub(t *testing.T, p pubsub.Publisher) *zmq.Publisher {
	t.Helper()
	zp, ok := pubsub.Unwrap(p).(*zmq.Publisher)
	require.True(t, ok, "%T is not a zmq PUB", p)
	return zp
}

// waitSubscribed waits until n subscribers of a publisher (its Stats)
// subscribe every topic.
func waitSubscribed(t *testing.T, stats func() zmq.PublisherStats, n int, topics ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return stats().Subscribed(topics...) >= n
	}, waitFor, poll, "waiting for %d subscribers of %v", n, topics)
}

// waitUnsubscribed waits until no subscriber of a publisher has topic.
func waitUnsubscribed(t *testing.T, stats func() zmq.PublisherStats, topic string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return stats().Subscribed(topic) == 0
	}, waitFor, poll)
}

// rows returns the publisher table, decoded, by id.
func rows(t *testing.T, db nb.Driver) map[string]model.Publisher {
	t.Helper()
	kvs, _, err := db.List(t.Context(), model.TablePublisher, "")
	require.NoError(t, err)
	out := map[string]model.Publisher{}
	for _, kv := range kvs {
		var p model.Publisher
		require.NoError(t, json.Unmarshal(kv.Value, &p))
		out[kv.Key] = p
	}
	return out
}

func logEvent(key, topic string) model.DbUpdate {
	return model.DbUpdate{Table: "info", Key: key, Action: model.ActionLog, Value: []byte("log"), Topic: topic}
}

func send(t *testing.T, p pubsub.Publisher, u model.DbUpdate) {
	t.Helper()
	require.NoError(t, p.Publish(context.Background(), u))
}

func describe(evs []pubsub.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s/%s/%s@%s#%d ", ev.Update.Table, ev.Update.Key, ev.Update.Action, ev.Meta.PublisherID, ev.Meta.Seq)
	}
	return b.String()
}
