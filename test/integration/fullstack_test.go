package integration

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// multiprocWorker is a neutron-server NbApi in multiproc mode: its
// publisher pushes to the service at cfg's socket.
func multiprocWorker(t *testing.T, db nb.Driver, cfg *config.Config) pubsub.Publisher {
	t.Helper()
	a, err := nbapi.New(t.Context(), cfg, config.RoleNeutronServer, nbapi.WithDB(db),
		nbapi.WithPubSubDriver(fastZMQ()), nbapi.WithLogger(logger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	require.True(t, a.Settings().UseMultiproc)
	return a.Publisher()
}

// staticSub is Dragonflow's fullstack subscriber: topic D, connected to
// the given publishers by address.
func staticSub(t *testing.T, svcs ...*pubservice.Service) (*zmq.Subscriber, *sink) {
	t.Helper()
	sk := &sink{}
	s, err := fastZMQ().NewSubscriber(t.Context(), pubsub.SubscriberConfig{
		Topics: []string{model.DefaultTopic}, OnEvent: sk.OnEvent, OnGap: sk.OnGap, Logger: logger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	for _, svc := range svcs {
		require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: svc.Info().ID, URI: svc.Info().URI}))
	}
	return s.(*zmq.Subscriber), sk
}

// fence sends a marker event after others from the same worker and waits
// for it: everything the worker sent before it has arrived by then.
func fence(t *testing.T, w pubsub.Publisher, sk *sink, name, topic string) {
	t.Helper()
	send(t, w, model.DbUpdate{Table: "fence", Key: name, Action: model.ActionLog, Topic: topic})
	sk.WaitN(t, waitFor, 1, byKey(name))
}

func logs(sk *sink, topic string) []pubsub.Event {
	return sk.Matching(func(ev pubsub.Event) bool {
		return ev.Update.Table == "info" && ev.Update.Action == model.ActionLog && ev.Update.TopicOrDefault() == topic
	})
}

// TestFullstackPubSubThroughService runs the checks of Dragonflow's
// fullstack test_pub_sub.py (reference §4.10) through the publisher
// service: a multiproc worker sends, the service relays, a subscriber
// counts.
func TestFullstackPubSubThroughService(t *testing.T) {
	env := startNB(t)
	db := env.dial(t)
	_, cfg := env.write(t, hostConfig{host: "api-1", neutronPort: freePort(t), socket: env.dir + "/run/pub.sock",
		multiproc: true, controllerPrt: freePort(t)})
	svc := startService(t, db, cfg)
	w := multiprocWorker(t, db, cfg)
	sub, sk := staticSub(t, svc)
	waitSubscribed(t, svcStats(svc), 1, model.DefaultTopic)

	t.Run("one log event gives exactly +1", func(t *testing.T) {
		send(t, w, model.DbUpdate{Table: "info", Action: model.ActionLog, Value: []byte("log")})
		fence(t, w, sk, "f1", "")
		got := logs(sk, model.DefaultTopic)
		require.Len(t, got, 1)
		// The removed multiproc test: table, key, action and topic arrive unchanged.
		assert.Equal(t, model.DbUpdate{Table: "info", Action: model.ActionLog, Value: []byte("log"), Topic: "D"}, got[0].Update)
	})
	t.Run("100 back-to-back give exactly +100", func(t *testing.T) {
		before := len(logs(sk, model.DefaultTopic))
		for i := range 100 {
			send(t, w, logEvent(fmt.Sprintf("b%d", i), ""))
		}
		fence(t, w, sk, "f2", "")
		got := logs(sk, model.DefaultTopic)[before:]
		require.Len(t, got, 100)
		for i, ev := range got {
			require.Equal(t, fmt.Sprintf("b%d", i), ev.Update.Key, "in order, no duplicate")
		}
	})
	t.Run("topic is received, Other-topic is not", func(t *testing.T) {
		require.NoError(t, sub.RegisterTopic("topic"))
		waitSubscribed(t, svcStats(svc), 1, "topic")
		send(t, w, logEvent("on-topic", "topic"))
		send(t, w, logEvent("on-other", "Other-topic"))
		fence(t, w, sk, "f3", "topic")
		require.Len(t, logs(sk, "topic"), 1)
		assert.Empty(t, logs(sk, "Other-topic"))

		require.NoError(t, sub.UnregisterTopic("topic"))
		waitUnsubscribed(t, svcStats(svc), "topic")
		send(t, w, logEvent("after-unregister", "topic"))
		fence(t, w, sk, "f4", "")
		assert.Len(t, logs(sk, "topic"), 1, "nothing on topic after unregister_topic")
	})
	t.Run("register an address at run time", func(t *testing.T) {
		_, cfg2 := env.write(t, hostConfig{host: "api-2", neutronPort: freePort(t), socket: env.dir + "/run/pub2.sock",
			multiproc: true, controllerPrt: freePort(t)})
		svc2 := startService(t, db, cfg2)
		w2 := multiprocWorker(t, db, cfg2)
		require.NoError(t, sub.RegisterPublisher(pubsub.Endpoint{PublisherID: svc2.Info().ID, URI: svc2.Info().URI}))
		waitSubscribed(t, svcStats(svc2), 1, model.DefaultTopic)
		send(t, w2, logEvent("from-2", ""))
		ev := sk.WaitN(t, waitFor, 1, byKey("from-2"))[0]
		assert.Equal(t, svc2.Info().ID, ev.Meta.PublisherID)
		send(t, w, logEvent("from-1", ""))
		sk.WaitN(t, waitFor, 1, byKey("from-1"))
	})
	t.Run("table monitor: create, set, delete", func(t *testing.T) {
		_, err := db.Create(t.Context(), model.TableChassis, "chassis-1", []byte(`{"id":"chassis-1","ip":"10.0.0.1"}`))
		require.NoError(t, err)
		_, err = db.Update(t.Context(), model.TableChassis, "chassis-1", []byte(`{"id":"chassis-1","ip":"10.0.0.2"}`), 0)
		require.NoError(t, err)
		require.NoError(t, db.Delete(t.Context(), model.TableChassis, "chassis-1", 0))
		// Both services relay the table: count the first one's.
		fromSvc1 := func(ev pubsub.Event) bool {
			return ev.Update.Table == model.TableChassis && ev.Meta.PublisherID == svc.Info().ID
		}
		got := sk.WaitN(t, waitFor, 3, fromSvc1)
		require.Len(t, got, 3)
		assert.Equal(t, []model.DbUpdate{
			{Table: "chassis", Key: "chassis-1", Action: "create", Value: []byte(`{"id":"chassis-1","ip":"10.0.0.1"}`), Topic: "D"},
			{Table: "chassis", Key: "chassis-1", Action: "set", Value: []byte(`{"id":"chassis-1","ip":"10.0.0.2"}`), Topic: "D"},
			{Table: "chassis", Key: "chassis-1", Action: "delete", Topic: "D"},
		}, []model.DbUpdate{got[0].Update, got[1].Update, got[2].Update})
	})
	assert.Empty(t, sk.Gaps())
}
