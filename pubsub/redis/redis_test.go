package redis_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/internal/redistest"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	_ "github.com/dragonflow-go/dragonflow/nb/redis"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/redis"
)

const wait = 10 * time.Second

// recorder records a subscriber's callbacks in order.
type recorder struct {
	mu      sync.Mutex
	entries []entry
}

type entry struct {
	ev  *pubsub.Event
	gap *pubsub.Gap
}

func (r *recorder) onEvent(ev pubsub.Event) { r.add(entry{ev: &ev}) }
func (r *recorder) onGap(g pubsub.Gap)      { r.add(entry{gap: &g}) }

func (r *recorder) add(e entry) {
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]entry(nil), r.entries...)
}

// find returns the index of the first entry from from on that match accepts.
func (r *recorder) find(from int, match func(entry) bool) int {
	for i, e := range r.snapshot() {
		if i >= from && match(e) {
			return i
		}
	}
	return -1
}

func keyIs(key string) func(entry) bool {
	return func(e entry) bool { return e.ev != nil && e.ev.Update.Key == key }
}

func reasonIs(r pubsub.GapReason) func(entry) bool {
	return func(e entry) bool { return e.gap != nil && e.gap.Reason == r }
}

func newPublisher(t *testing.T, d *redis.Driver, id string, hosts []string) pubsub.Publisher {
	t.Helper()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{
		ID: id, Epoch: pubsub.NewEpoch(), WireMode: model.WireV2, Hosts: hosts,
		PublishTimeout: time.Second, Logger: testLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func newSubscriber(t *testing.T, d *redis.Driver, hosts []string, topics ...string) (*redis.Subscriber, *recorder) {
	t.Helper()
	rec := &recorder{}
	s, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{
		OnEvent: rec.onEvent, OnGap: rec.onGap, Topics: topics, Hosts: hosts, Logger: testLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s.(*redis.Subscriber), rec
}

// deliverProbe publishes probes with key prefix on topic (errors ignored:
// the broker may be down) until one arrives, and returns its entry index.
func deliverProbe(t *testing.T, p pubsub.Publisher, rec *recorder, topic, prefix string) int {
	t.Helper()
	deadline := time.Now().Add(wait)
	for i := 0; ; i++ {
		key := fmt.Sprintf("%s-%d", prefix, i)
		_ = p.Publish(t.Context(), model.DbUpdate{Table: model.TableChassis, Key: key, Action: model.ActionLog, Topic: topic})
		var at int
		ok := assert.Eventually(&quiet{}, func() bool { at = rec.find(0, keyIs(key)); return at >= 0 }, 100*time.Millisecond, 5*time.Millisecond)
		if ok {
			return at
		}
		require.True(t, time.Now().Before(deadline), "no probe %s arrived on %q within %v", prefix, topic, wait)
	}
}

// quiet is a testing.T stand-in for a polling assert.Eventually whose
// failure is expected and handled by the caller.
type quiet struct{}

func (quiet) Errorf(string, ...any) {}

// TestRegisteredInBothRegistries: the NB DB driver and the pub/sub driver
// are both named "redis", in their own registries.
func TestRegisteredInBothRegistries(t *testing.T) {
	assert.Contains(t, pubsub.Drivers(), "redis")
	assert.Contains(t, nb.Drivers(), "redis")
	d, err := pubsub.Lookup("redis")
	require.NoError(t, err)
	assert.IsType(t, &redis.Driver{}, d)
}

// TestInfoURI: each publisher has its own uri, naming the broker, that
// the publisher table accepts (discovery de-duplicates rows by uri).
func TestInfoURI(t *testing.T) {
	srv := redistest.Start(t, true)
	d := redis.NewDriver(redis.Options{})
	for host, want := range map[string]string{
		srv.Addr():      "redis://" + srv.Addr() + "/publisher/api%201",
		srv.SocketURL(): srv.SocketURL() + "?publisher=api+1",
	} {
		p := newPublisher(t, d, "api 1", []string{host})
		assert.Equal(t, want, p.Info().URI)
		assert.NoError(t, discovery.CheckURI(p.Info().URI))
	}
}

func TestConfigErrors(t *testing.T) {
	d := redis.NewDriver(redis.Options{DialTimeout: 300 * time.Millisecond})
	port, err := redistest.FreePort(false)
	require.NoError(t, err)
	dead := []string{fmt.Sprintf("127.0.0.1:%d", port)}
	ctx := t.Context()

	_, err = d.NewPublisher(ctx, pubsub.PublisherConfig{ID: "p"})
	assert.ErrorContains(t, err, "no hosts")
	_, err = d.NewPublisher(ctx, pubsub.PublisherConfig{Hosts: dead})
	assert.ErrorContains(t, err, "empty ID")
	_, err = d.NewPublisher(ctx, pubsub.PublisherConfig{ID: "p", Hosts: dead})
	assert.ErrorContains(t, err, "no host answered", "fails fast when the broker is down")
	_, err = d.NewPublisher(ctx, pubsub.PublisherConfig{ID: "p", Hosts: []string{"no-port"}})
	assert.ErrorContains(t, err, "host:port")
	_, err = d.NewSubscriber(ctx, pubsub.SubscriberConfig{Hosts: dead})
	assert.ErrorContains(t, err, "OnEvent is required")
	_, err = d.NewSubscriber(ctx, pubsub.SubscriberConfig{OnEvent: func(pubsub.Event) {}, Hosts: dead})
	assert.ErrorContains(t, err, "no host answered")

	srv := redistest.SharedServer(t)
	_, err = redis.NewDriver(redis.Options{Mode: redis.ModeCluster}).NewPublisher(ctx,
		pubsub.PublisherConfig{ID: "p", Hosts: []string{srv.Addr()}})
	assert.Error(t, err, "cluster mode on a standalone server")
	s, rec := newSubscriber(t, redis.NewDriver(redis.Options{}), []string{srv.Addr()})
	assert.ErrorContains(t, s.RegisterPublisher(pubsub.Endpoint{URI: "x"}), "empty PublisherID")
	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.RegisterTopic("t"), pubsub.ErrClosed)
	assert.Empty(t, rec.snapshot())
}

// TestReconnectReportsGap: the server restarts under a subscriber and a
// publisher. Publishing while it is down fails (never silently dropped);
// the subscriber reconnects by itself, subscribes again, and reports a
// GapReconnect naming every publisher and topic before its next event.
func TestReconnectReportsGap(t *testing.T) {
	srv := redistest.Start(t, false)
	hosts := []string{srv.Addr()}
	d := redis.NewDriver(redis.Options{ReconnectMax: 200 * time.Millisecond})
	p := newPublisher(t, d, "p", hosts)
	s, rec := newSubscriber(t, d, hosts, "D")
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: p.Info().URI}))
	deliverProbe(t, p, rec, "D", "before")

	require.NoError(t, srv.Stop())
	err := p.Publish(t.Context(), model.DbUpdate{Table: model.TableChassis, Key: "while-down", Action: model.ActionLog})
	require.Error(t, err, "a publish that cannot reach Redis fails")
	t.Logf("publish while down: %v", err)

	require.NoError(t, srv.Restart())
	at := deliverProbe(t, p, rec, "D", "after")
	ents := rec.snapshot()
	gap := rec.find(0, reasonIs(pubsub.GapReconnect))
	require.GreaterOrEqual(t, gap, 0, "no GapReconnect: %+v", ents)
	assert.Less(t, gap, at, "the gap comes before the first event after the reconnect")
	g := ents[gap].gap
	assert.Empty(t, g.PublisherID, "every publisher")
	assert.Empty(t, g.Topic, "every topic")
	assert.Error(t, g.Err, "the cause")
	assert.GreaterOrEqual(t, s.Stats().Reconnects, uint64(1))
	assert.Equal(t, 1, countGaps(ents, pubsub.GapReconnect), "one gap per reconnect")
}

func countGaps(ents []entry, r pubsub.GapReason) int {
	n := 0
	for _, e := range ents {
		if e.gap != nil && e.gap.Reason == r {
			n++
		}
	}
	return n
}

// TestHealthCheck: a server that stops answering (CLIENT PAUSE) without
// closing the connection is detected by the subscriber's PING, which then
// reconnects and reports the gap.
func TestHealthCheck(t *testing.T) {
	srv := redistest.Start(t, false)
	hosts := []string{srv.Addr()}
	// 300 ms: short for the test, long enough for a PONG under -race on a
	// loaded machine.
	d := redis.NewDriver(redis.Options{HealthCheckInterval: 300 * time.Millisecond, ReconnectMax: 100 * time.Millisecond})
	p := newPublisher(t, d, "p", hosts)
	s, rec := newSubscriber(t, d, hosts, "D")
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: p.Info().URI}))
	deliverProbe(t, p, rec, "D", "before")
	// Idle for several intervals: the pings are answered, nothing is lost.
	// (Real time must pass; the point is that nothing happens.)
	time.Sleep(time.Second)
	require.Zero(t, s.Stats().Reconnects, "an idle, healthy connection is kept")

	admin := redistest.AdminClient(srv.Addr())
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(t.Context(), "client", "pause", 2000, "all").Err())
	require.Eventually(t, func() bool { return s.Stats().Reconnects >= 1 }, wait, 10*time.Millisecond)
	at := deliverProbe(t, p, rec, "D", "after")
	gap := rec.find(0, reasonIs(pubsub.GapReconnect))
	require.GreaterOrEqual(t, gap, 0)
	assert.Less(t, gap, at)
}

// TestForeignMessages: a message that does not decode is dropped and
// reported as GapMalformed on its topic; an event without publisher id (a
// Python Dragonflow publisher) is delivered untracked; an event of an
// unregistered publisher is filtered.
func TestForeignMessages(t *testing.T) {
	srv := redistest.SharedServer(t)
	hosts := []string{srv.Addr()}
	topic := "foreign-" + t.Name()
	s, rec := newSubscriber(t, redis.NewDriver(redis.Options{}), hosts, topic)
	raw := redistest.AdminClient(srv.Addr())
	t.Cleanup(func() { _ = raw.Close() })
	publish := func(body []byte) {
		t.Helper()
		require.NoError(t, raw.Publish(t.Context(), topic, body).Err())
	}
	v1 := model.DbUpdate{Table: model.TableChassis, Key: "v1", Action: model.ActionCreate, Value: []byte(`{"id":"v1"}`), Topic: topic}
	// Wait until the subscription is up: v1 events arrive unfiltered.
	require.Eventually(t, func() bool {
		publish(model.EncodeBody(v1, model.Meta{}, model.WireStrict))
		return rec.find(0, keyIs("v1")) >= 0
	}, wait, 20*time.Millisecond)

	publish([]byte("\xc1 not msgpack"))
	stranger := model.DbUpdate{Table: model.TableChassis, Key: "stranger", Action: model.ActionSet, Topic: topic}
	publish(model.EncodeBody(stranger, model.Meta{PublisherID: "stranger", Epoch: 1, Seq: 1}, model.WireV2))
	last := model.DbUpdate{Table: model.TableChassis, Key: "last", Action: model.ActionSet, Topic: topic}
	publish(model.EncodeBody(last, model.Meta{}, model.WireStrict))
	require.Eventually(t, func() bool { return rec.find(0, keyIs("last")) >= 0 }, wait, 10*time.Millisecond)

	ents := rec.snapshot()
	mal := rec.find(0, reasonIs(pubsub.GapMalformed))
	require.GreaterOrEqual(t, mal, 0)
	assert.Equal(t, topic, ents[mal].gap.Topic)
	assert.Empty(t, ents[mal].gap.PublisherID)
	assert.Equal(t, -1, rec.find(0, keyIs("stranger")), "unregistered publisher filtered")
	ev := ents[rec.find(0, keyIs("v1"))].ev
	assert.True(t, ev.Meta.IsZero())
	assert.Equal(t, v1, ev.Update)
	st := s.Stats()
	assert.EqualValues(t, 1, st.Malformed)
	assert.EqualValues(t, 1, st.Filtered)
}

// TestClusterNodeFailure: on a cluster of its own, the master a publisher
// is pinned to dies: Publish goes on through another master (the cluster
// bus still forwards PUBLISH), a subscriber that was on the dead node
// reconnects to another and reports the gap. With every node dead,
// Publish returns an error.
func TestClusterNodeFailure(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	hosts := cl.Hosts()
	d := redis.NewDriver(redis.Options{DialTimeout: time.Second, ReconnectMax: 200 * time.Millisecond})
	p := newPublisher(t, d, "p", hosts)
	var subs []*redis.Subscriber
	var recs []*recorder
	for range 3 { // random nodes: likely one on the node that dies
		s, rec := newSubscriber(t, d, hosts, "D")
		require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: p.Info().URI}))
		subs, recs = append(subs, s), append(recs, rec)
	}
	for i, rec := range recs {
		deliverProbe(t, p, rec, "D", fmt.Sprintf("before-%d", i))
	}

	// The pinned master is the first in the publisher's order; which one
	// it is is internal, so kill each node in turn until a publish had to
	// move.
	for _, n := range cl.Nodes[:2] {
		require.NoError(t, n.Stop())
		require.NoError(t, p.Publish(t.Context(), model.DbUpdate{Table: model.TableChassis, Key: "after-kill-" + n.Addr(), Action: model.ActionLog}),
			"a live master takes the publish")
	}
	for i, rec := range recs {
		at := deliverProbe(t, p, rec, "D", fmt.Sprintf("after-%d", i))
		if gap := rec.find(0, reasonIs(pubsub.GapReconnect)); gap >= 0 {
			assert.Less(t, gap, at, "subscriber %d: gap before the next event", i)
			t.Logf("subscriber %d reconnected (gap at %d)", i, gap)
		} else {
			assert.Zero(t, subs[i].Stats().Reconnects, "subscriber %d: a reconnect without a gap", i)
		}
	}

	require.NoError(t, cl.Nodes[2].Stop())
	err := p.Publish(t.Context(), model.DbUpdate{Table: model.TableChassis, Key: "nobody", Action: model.ActionLog})
	require.Error(t, err, "no node left: the publish fails, it is not dropped silently")
	t.Logf("publish with the cluster down: %v", err)
	assert.True(t, strings.Contains(err.Error(), "publish as p"))
}

// TestPublishTimeout: a server that does not answer makes Publish fail
// with ErrPublishTimeout within PublishTimeout.
func TestPublishTimeout(t *testing.T) {
	srv := redistest.Start(t, false)
	d := redis.NewDriver(redis.Options{})
	p := newPublisher(t, d, "p", []string{srv.Addr()})
	require.NoError(t, p.Publish(t.Context(), model.DbUpdate{Table: model.TableChassis, Key: "k", Action: model.ActionLog}))
	admin := redistest.AdminClient(srv.Addr())
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(t.Context(), "client", "pause", 3000, "all").Err())
	began := time.Now()
	err := p.Publish(t.Context(), model.DbUpdate{Table: model.TableChassis, Key: "k", Action: model.ActionLog})
	require.ErrorIs(t, err, pubsub.ErrPublishTimeout)
	assert.Less(t, time.Since(began), 2*time.Second)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = p.Publish(ctx, model.DbUpdate{Table: model.TableChassis, Key: "k", Action: model.ActionLog})
	require.ErrorIs(t, err, context.Canceled)
}

// TestDiscoveryEndToEnd: the whole fabric on one Redis: publishers
// register themselves in the NB DB publisher table (nb/redis, through
// pubsub.Open's Registrar), a subscriber follows the table with
// discovery.Discover and receives their events; a closed publisher is
// unregistered. Both publishers advertise the same broker, yet each has
// its own uri, so discovery's de-duplication by uri keeps both.
func TestDiscoveryEndToEnd(t *testing.T) {
	srv := redistest.Start(t, false)
	hosts := []string{srv.Addr()}
	db, err := nb.Open(t.Context(), "redis", nb.Config{Hosts: hosts, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	d := redis.NewDriver(redis.Options{})

	s, rec := newSubscriber(t, d, hosts, model.DefaultTopic)
	disc, err := discovery.Discover(t.Context(), db, s, []string{model.RoleNeutronServer}, discovery.WithLogger(testLogger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, disc.Close()) })

	open := func(id string) pubsub.Publisher {
		p, err := pubsub.Open(t.Context(), d, pubsub.PublisherConfig{
			ID: id, Epoch: pubsub.NewEpoch(), Role: model.RoleNeutronServer, WireMode: model.WireV2, Hosts: hosts,
			Logger: testLogger(t),
			Registrar: func(ctx context.Context, info pubsub.Info) (io.Closer, error) {
				return discovery.Register(ctx, db, discovery.PublisherInfo{
					ID: info.ID, Role: model.RoleNeutronServer, URI: info.URI, Host: "h", PID: 1, Epoch: info.Epoch,
				}, discovery.WithTTL(2*time.Second), discovery.WithTimestampRefresh(0), discovery.WithLogger(testLogger(t)))
			},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	p1, p2 := open("api-1"), open("api-2")
	require.Eventually(t, func() bool { return len(disc.Publishers()) == 2 }, wait, 10*time.Millisecond)
	deliverProbe(t, p1, rec, model.DefaultTopic, "p1")
	at := deliverProbe(t, p2, rec, model.DefaultTopic, "p2")
	assert.Equal(t, p2.Info().URI, rec.snapshot()[at].ev.Endpoint)

	require.NoError(t, p1.Close())
	require.Eventually(t, func() bool { return len(disc.Publishers()) == 1 }, wait, 10*time.Millisecond)
	assert.ErrorIs(t, s.UnregisterPublisher("api-1"), pubsub.ErrUnknownPublisher, "discovery unregistered it")
}
