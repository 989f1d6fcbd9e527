package controller

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("CONTROLLER_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// fastZMQ reconnects quickly, so tests do not wait for backoff.
func fastZMQ() *zmq.Driver {
	return zmq.New(zmq.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
}

// freePort returns a free TCP port of 127.0.0.1 ([controller]
// publisher_port accepts no 0).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return strconv.Itoa(port)
}

// testConfig is a configuration for host on loopback, each publisher on a
// free port, plus set (group, name, value).
func testConfig(t *testing.T, host string, set ...[3]string) *config.Config {
	t.Helper()
	cfg := config.New(nil)
	base := [][3]string{
		{config.GroupDefault, config.OptHost, host},
		{config.GroupDF, config.OptPublisherTimeout, "5"},
		{config.GroupController, config.OptPublisherBindingAddress, "127.0.0.1"},
		{config.GroupController, config.OptPublisherPort, freePort(t)},
		{config.GroupController, config.OptAdminListen, "127.0.0.1:0"},
		{config.GroupController, config.OptResyncJitter, "0"},
		{config.GroupNeutron, config.OptPublisherBindingAddress, "127.0.0.1"},
		{config.GroupNeutron, config.OptPublisherPort, freePort(t)},
		{config.GroupNeutron, config.OptPubSubUseMultiproc, "false"},
	}
	for _, s := range append(base, set...) {
		require.NoError(t, cfg.Set(s[0], s[1], s[2]), "%v", s)
	}
	return cfg
}

// history records what a controller did, through its hooks.
type history struct {
	mu      sync.Mutex
	events  []EventRecord
	resyncs []ResyncReport
}

func (h *history) onEvent(r EventRecord) {
	h.mu.Lock()
	h.events = append(h.events, r)
	h.mu.Unlock()
}

func (h *history) onResync(r ResyncReport) {
	h.mu.Lock()
	h.resyncs = append(h.resyncs, r)
	h.mu.Unlock()
}

func (h *history) Events() []EventRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]EventRecord(nil), h.events...)
}

func (h *history) Resyncs() []ResyncReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]ResyncReport(nil), h.resyncs...)
}

// resyncsOf counts finished resyncs of reason ("" any).
func (h *history) resyncsOf(reason string) int {
	n := 0
	for _, r := range h.Resyncs() {
		if (reason == "" || r.Reason == reason) && r.Err == nil && !r.Skipped {
			n++
		}
	}
	return n
}

// checkOrder fails if an event was applied twice or a publisher's stream
// went backwards.
func (h *history) checkOrder(t *testing.T) {
	t.Helper()
	type stream struct {
		pub   string
		epoch uint64
		topic string
	}
	last := map[stream]uint64{}
	for _, e := range h.Events() {
		if e.PublisherID == "" {
			continue
		}
		s := stream{e.PublisherID, e.Epoch, e.Topic}
		require.Greater(t, e.Seq, last[s], "seq of %v went backwards or repeated", s)
		last[s] = e.Seq
	}
}

// env is a controller with its NB DB, and a neutron-server NbApi that
// writes and publishes like the API server.
type env struct {
	t    *testing.T
	db   nb.Driver
	cfg  *config.Config
	c    *Controller
	h    *history
	api  *nbapi.NbApi // the neutron server's
	opts Config
}

// newEnv starts a neutron-server NbApi and a controller of host
// "compute-1" on one memory NB DB; mod adjusts the controller's Config.
func newEnv(t *testing.T, set [][3]string, mod func(*Config)) *env {
	t.Helper()
	return newEnvPub(t, fastZMQ(), set, mod)
}

// newEnvPub is newEnv with the neutron server's pub/sub driver.
func newEnvPub(t *testing.T, pubDriver *zmq.Driver, set [][3]string, mod func(*Config)) *env {
	t.Helper()
	db := memory.New()
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	e := &env{t: t, db: db, h: &history{}}
	e.cfg = testConfig(t, "compute-1", set...)
	var err error
	e.api, err = nbapi.New(t.Context(), e.cfg, nbapi.RoleNeutronServer, nbapi.WithDB(db),
		nbapi.WithPubSubDriver(pubDriver), nbapi.WithLogger(testLogger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.api.Close()) })
	e.opts = Config{
		Config: e.cfg, Logger: testLogger(t),
		NbApiOptions: []nbapi.Option{nbapi.WithDB(db), nbapi.WithPubSubDriver(fastZMQ())},
		OnEvent:      e.h.onEvent, OnResync: e.h.onResync,
	}
	if mod != nil {
		mod(&e.opts)
	}
	return e
}

// start starts the controller and waits until its subscriber is connected
// to the neutron server's publisher.
func (e *env) start() *Controller {
	e.t.Helper()
	c, err := New(e.t.Context(), e.opts)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { require.NoError(e.t, c.Close()) })
	e.c = c
	e.waitSubscribed(model.DefaultTopic)
	return c
}

// waitSubscribed waits until the controller's subscription of topics has
// reached the neutron server's publisher.
func (e *env) waitSubscribed(topics ...string) {
	e.t.Helper()
	p := pubsub.Unwrap(e.api.Publisher()).(*zmq.Publisher)
	require.Eventually(e.t, func() bool { return p.Stats().Subscribed(topics...) >= 1 }, waitFor, 2*time.Millisecond)
}

// subscribe connects a test subscriber to the controller's publisher on
// topics and waits until the controller's publisher has the subscription.
func (e *env) subscribe(topics ...string) *testutil.Sink {
	e.t.Helper()
	sk := &testutil.Sink{}
	sub, err := fastZMQ().NewSubscriber(e.t.Context(), pubsub.SubscriberConfig{Topics: topics, OnEvent: sk.OnEvent, OnGap: sk.OnGap})
	require.NoError(e.t, err)
	e.t.Cleanup(func() { require.NoError(e.t, sub.Close()) })
	require.NoError(e.t, sub.RegisterPublisher(pubsub.Endpoint{PublisherID: e.c.PublisherID(), URI: e.c.PublisherURI()}))
	p := pubsub.Unwrap(e.c.NbApi().Publisher()).(*zmq.Publisher)
	require.Eventually(e.t, func() bool { return p.Stats().Subscribed(topics...) >= 1 }, waitFor, 2*time.Millisecond)
	return sk
}

// waitCached waits until the controller caches table/key (with version
// at least v for versioned models; v < 0: until it is absent).
func (e *env) waitCached(table, key string, v int64) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		m, ok := e.c.Cached(table, key)
		if v < 0 {
			return !ok
		}
		if !ok {
			return false
		}
		if vm, isV := m.(model.Versioned); isV {
			return vm.GetVersion() >= v
		}
		return true
	}, waitFor, 2*time.Millisecond, "%s/%s version %d", table, key, v)
}

func lport(id, tenant string, version int64) *model.LogicalPort {
	return &model.LogicalPort{ID: id, Topic: tenant, Version: version, LSwitch: "net-" + tenant, MACs: []string{"fa:16:3e:00:00:01"}}
}

func lswitch(tenant string) *model.LogicalSwitch {
	return &model.LogicalSwitch{ID: "net-" + tenant, Topic: tenant, Version: 1}
}

// put writes m to the NB DB without publishing it: a change whose event
// is lost.
func put(t *testing.T, db nb.Driver, m model.Model) {
	t.Helper()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	_, err = db.Put(context.Background(), m.Table(), m.Key(), data)
	require.NoError(t, err)
}
