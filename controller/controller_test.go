package controller

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// The start: chassis registered and published, publisher registered with
// its admin address, a full sync of what the NB DB held before, ready.
func TestStartSyncsRegistersAndCloses(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := t.Context()
	require.NoError(t, e.api.Create(ctx, lswitch("t1")))
	require.NoError(t, e.api.Create(ctx, lport("p1", "t1", 1)))
	require.NoError(t, e.api.Create(ctx, &model.Chassis{ID: "compute-2", IP: "10.0.0.2"}))

	c, err := New(ctx, e.opts)
	require.NoError(t, err)
	require.True(t, c.Ready())
	require.Equal(t, map[string]int{"chassis": 2, "lport": 1, "lswitch": 1, "publisher": 2}, c.CacheSizes())
	require.Equal(t, 1, e.h.resyncsOf(ReasonStart))

	var ch model.Chassis
	kv, err := e.db.Get(ctx, model.TableChassis, "compute-1")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(kv.Value, &ch))
	require.Equal(t, model.Chassis{ID: "compute-1", IP: "127.0.0.1"}, ch)
	require.EqualValues(t, 1, c.Stats().EventsOut, "the chassis is published")

	kv, err = e.db.Get(ctx, model.TablePublisher, c.PublisherID())
	require.NoError(t, err)
	var p model.Publisher
	require.NoError(t, json.Unmarshal(kv.Value, &p))
	require.Equal(t, model.RoleLocalController, p.Role)
	require.Equal(t, c.AdminAddr(), p.Admin)
	require.Equal(t, c.PublisherURI(), p.URI)
	require.Equal(t, "compute-1", p.Host)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "idempotent")
	<-c.Done()
	require.NoError(t, c.Err())
	_, err = e.db.Get(ctx, model.TablePublisher, c.PublisherID())
	require.Error(t, err, "the publisher row goes at once")
	_, err = e.db.Get(ctx, model.TableChassis, "compute-1")
	require.NoError(t, err, "the chassis stays")
}

func TestStartFailsCleanly(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.AdminListen = "256.0.0.1:1" })
	_, err := New(t.Context(), e.opts)
	require.ErrorContains(t, err, "admin_listen")

	cfg := testConfig(t, "compute-1", [3]string{config.GroupController, config.OptPortSource, config.PortSourceOVSDB})
	_, err = New(t.Context(), Config{Config: cfg, NbApiOptions: e.opts.NbApiOptions})
	require.ErrorContains(t, err, "port_source")
}

// Events are applied with Dragonflow's version rules; update events,
// unknown tables and control actions are ignored; no event is applied
// twice and each publisher's order is kept.
func TestEventsAppliedWithVersionRules(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.start()
	ctx := t.Context()
	require.NoError(t, e.api.Create(ctx, lport("p1", "t1", 1)))
	e.waitCached("lport", "p1", 1)
	_, err := e.api.Update(ctx, &model.LogicalPort{ID: "p1", Name: "renamed"})
	require.NoError(t, err)
	e.waitCached("lport", "p1", 2)

	pub := e.api.Publisher()
	old, _ := json.Marshal(lport("p1", "t1", 1))
	for _, u := range []model.DbUpdate{
		{Table: "lport", Key: "p1", Action: model.ActionSet, Value: old, Topic: "D"},
		{Table: "lport", Key: "p1", Action: model.ActionUpdate, Value: []byte("ACTIVE"), Topic: "D"},
		{Table: "nosuch", Key: "x", Action: model.ActionCreate, Value: []byte("{}"), Topic: "D"},
		{Table: "lport", Key: "p1", Action: model.ActionReinitialize, Topic: "D"},
		{Table: "lport", Key: "p1", Action: model.ActionDelete, Topic: "D"},
	} {
		require.NoError(t, pub.Publish(ctx, u))
	}
	e.waitCached("lport", "p1", -1)
	var outcomes []Outcome
	for _, r := range e.h.Events() {
		if r.Key == "p1" || r.Key == "x" {
			outcomes = append(outcomes, r.Outcome)
		}
	}
	require.Equal(t, []Outcome{Applied, Applied, Stale, IgnoredUpdate, UnknownTable, IgnoredControl, Applied}, outcomes)
	e.h.checkOrder(t)
	st := e.c.Stats()
	require.EqualValues(t, 4, st.Ignored)
	require.GreaterOrEqual(t, st.EventsIn, uint64(7))
}

// A reported gap makes the controller resync the gap's topic, which
// repairs a change whose event was lost.
func TestGapResyncRepairsMissedChange(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.start()
	put(t, e.db, lport("missed", "t1", 1))
	e.c.handleGap(pubsub.Gap{Reason: pubsub.GapSeq, PublisherID: "x", Topic: model.DefaultTopic, Expected: 3, Got: 5})
	e.waitCached("lport", "missed", 1)
	require.Eventually(t, func() bool { return e.h.resyncsOf("gap-seq") == 1 }, waitFor, 2*time.Millisecond)

	// A gap of every topic of a publisher: every subscribed topic.
	put(t, e.db, lport("missed2", "t1", 1))
	e.c.handleGap(pubsub.Gap{Reason: pubsub.GapReconnect, PublisherID: "x"})
	e.waitCached("lport", "missed2", 1)
	require.EqualValues(t, 2, e.c.Stats().Gaps)
}

// A burst of gaps while a resync runs costs at most one more resync.
func TestGapBurstCoalesces(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e := newEnv(t, nil, nil)
	hook := e.opts.OnResync
	e.opts.OnResync = func(r ResyncReport) {
		hook(r)
		if r.Reason == "gap-overflow" {
			once.Do(func() { close(entered); <-release }) // hold the worker after the first one
		}
	}
	e.start()
	var released sync.Once
	unblock := func() { released.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before Close, even if the test fails
	e.c.handleGap(pubsub.Gap{Reason: pubsub.GapOverflow, Topic: model.DefaultTopic})
	<-entered
	for range 50 {
		e.c.handleGap(pubsub.Gap{Reason: pubsub.GapOverflow, Topic: model.DefaultTopic})
	}
	require.Equal(t, 1, e.c.Stats().ResyncsQueued)
	require.EqualValues(t, 49, e.c.Stats().ResyncsCoalesced)
	unblock()
	require.Eventually(t, func() bool { return e.h.resyncsOf("gap-overflow") == 2 }, waitFor, 2*time.Millisecond)
	require.Equal(t, 0, e.c.Stats().ResyncsQueued)
}

// A publisher that restarts (new epoch, new row) is a new publisher: the
// resync on its first contact repairs what was written while it was down.
func TestPublisherRestartRepairsMissedChange(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.start()
	id := e.api.Publisher().Info().ID
	require.NoError(t, e.api.Close())
	put(t, e.db, lport("while-down", "t1", 1))
	api, err := nbapi.New(t.Context(), e.cfg, nbapi.RoleNeutronServer, nbapi.WithDB(e.db),
		nbapi.WithPubSubDriver(fastZMQ()), nbapi.WithPublisherID(id))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, api.Close()) })
	e.api = api
	e.waitCached("lport", "while-down", 1)
	e.waitSubscribed(model.DefaultTopic)
	require.NoError(t, api.Create(t.Context(), lport("after", "t1", 1)))
	e.waitCached("lport", "after", 1)
	e.h.checkOrder(t)
}

// A publisher service's df_resync marker is treated like a gap.
func TestResyncMarker(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.start()
	put(t, e.db, lport("lost-in-service", "t1", 1))
	v, _ := json.Marshal(pubservice.ResyncRequest{Topic: pubservice.AllTopics, Reason: pubsub.GapSeq, Service: "svc"})
	require.NoError(t, e.api.Publisher().Publish(t.Context(), model.DbUpdate{
		Table: pubservice.ResyncTable, Key: pubservice.AllTopics, Action: pubservice.ResyncAction, Value: v, Topic: "D",
	}))
	e.waitCached("lport", "lost-in-service", 1)
	require.Eventually(t, func() bool { return e.h.resyncsOf(ReasonMarker) == 1 }, waitFor, 2*time.Millisecond)
}

// The periodic full sync every db_sync_time repairs what nothing reported.
func TestPeriodicSync(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnv(t, nil, func(c *Config) { c.Clock = clk; c.SyncInterval = time.Minute })
	e.start()
	put(t, e.db, lport("silent", "t1", 1))
	require.Eventually(t, func() bool { return clk.Pending() >= 1 }, waitFor, time.Millisecond)
	clk.Advance(time.Minute)
	e.waitCached("lport", "silent", 1)
	require.Equal(t, 1, e.h.resyncsOf(ReasonPeriodic))
}

func TestFirstContact(t *testing.T) {
	cs := newContacts()
	evt := func(pub string, epoch, seq uint64, topic string) pubsub.Event {
		return pubsub.Event{Update: model.DbUpdate{Topic: topic}, Meta: model.Meta{PublisherID: pub, Epoch: epoch, Seq: seq}}
	}
	require.False(t, cs.first(evt("a", 1, 1, "D")), "seq 1: nothing was missed")
	require.False(t, cs.first(evt("a", 1, 2, "D")))
	require.True(t, cs.first(evt("b", 1, 7, "D")), "joined a running stream")
	require.False(t, cs.first(evt("b", 1, 8, "D")))
	require.True(t, cs.first(evt("b", 1, 3, "t1")), "per topic")
	require.False(t, cs.first(evt("", 0, 0, "D")), "v1 peers have no seq")
	cs.forgetPublisher("b")
	require.True(t, cs.first(evt("b", 1, 9, "D")))
}
