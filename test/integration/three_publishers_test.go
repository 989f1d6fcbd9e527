package integration

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// TestThreePublishersOnOneHost is Dragonflow bug 1651643, closed for good:
// on one host run the publisher service ([neutron] publisher_port), a
// neutron-server worker in multiproc mode (it pushes to the service and
// registers nothing), and two local-controller publishers (each on its own
// [controller] publisher_port from its own config) — no bind conflict, all
// registered with their roles. A subscriber filtering on neutron-server
// gets only the service's events (the worker's, relayed), a subscriber of
// local-controller only the controllers', exactly.
func TestThreePublishersOnOneHost(t *testing.T) {
	env := startNB(t)
	db := env.dial(t)
	socket := env.dir + "/run/publisher.sock"
	_, neutronCfg := env.write(t, hostConfig{host: "api-1", neutronPort: freePort(t), socket: socket, multiproc: true,
		controllerPrt: freePort(t)})
	_, lc2Cfg := env.write(t, hostConfig{host: "compute-2", neutronPort: freePort(t), socket: socket,
		controllerPrt: freePort(t)})

	svc := startService(t, db, neutronCfg)
	newAPI := func(cfg *config.Config, role config.Role) *nbapi.NbApi {
		a, err := nbapi.New(t.Context(), cfg, role, nbapi.WithDB(db), nbapi.WithPubSubDriver(fastZMQ()),
			nbapi.WithLogger(logger(t)))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, a.Close()) })
		return a
	}
	worker := newAPI(neutronCfg, config.RoleNeutronServer)
	lc1 := newAPI(neutronCfg, config.RoleLocalController) // same host file: [controller] publisher_port
	lc2 := newAPI(lc2Cfg, config.RoleLocalController)     // another port, from another config
	require.True(t, worker.Settings().UseMultiproc)
	require.Empty(t, worker.Publisher().Info().URI, "a multiproc worker pushes; it binds nothing")

	// Registered: the service as neutron-server, both controllers as
	// local-controller, the worker not at all.
	reg := rows(t, db)
	require.Len(t, reg, 3, "publisher rows: %v", reg)
	lcIDs := []string{lc1.Publisher().Info().ID, lc2.Publisher().Info().ID}
	assert.Equal(t, model.RoleNeutronServer, reg[svc.Info().ID].Role)
	assert.Equal(t, svc.Info().URI, reg[svc.Info().ID].URI)
	for i, id := range lcIDs {
		assert.Equal(t, model.RoleLocalController, reg[id].Role)
		assert.Equal(t, []*nbapi.NbApi{lc1, lc2}[i].Publisher().Info().URI, reg[id].URI)
	}
	assert.NotContains(t, reg, worker.Publisher().Info().ID)
	uris := map[string]bool{}
	for _, r := range reg {
		uris[r.URI] = true
	}
	assert.Len(t, uris, 3, "three publishers, three ports")

	subNS := discoverSub(t, db, []string{model.RoleNeutronServer}, model.DefaultTopic)
	subLC := discoverSub(t, db, []string{model.RoleLocalController}, model.DefaultTopic)
	assert.Equal(t, []string{svc.Info().ID}, subNS.publisherIDs())
	assert.ElementsMatch(t, lcIDs, subLC.publisherIDs())
	waitSubscribed(t, svcStats(svc), 1, model.DefaultTopic)
	for _, lc := range []*nbapi.NbApi{lc1, lc2} {
		waitSubscribed(t, pubStats(t, lc.Publisher()), 1, model.DefaultTopic)
	}

	const n = 50
	for i := range n {
		require.NoError(t, worker.Create(t.Context(), &model.LogicalSwitch{ID: fmt.Sprintf("net-%d", i), Topic: "tenant1"}))
	}
	send(t, worker.Publisher(), logEvent("fence-ns", ""))
	for i, lc := range []*nbapi.NbApi{lc1, lc2} {
		for j := range n {
			send(t, lc.Publisher(), model.DbUpdate{Table: model.TableLogicalPort, Key: fmt.Sprintf("lc%d-port-%d", i+1, j),
				Action: model.ActionUpdate, Value: []byte("ACTIVE"), Topic: model.DefaultTopic})
		}
		send(t, lc.Publisher(), logEvent(fmt.Sprintf("fence-lc%d", i+1), ""))
	}

	subNS.WaitN(t, waitFor, 1, byKey("fence-ns"))
	subLC.WaitN(t, waitFor, 1, byKey("fence-lc1"))
	subLC.WaitN(t, waitFor, 1, byKey("fence-lc2"))

	// neutron-server: exactly the worker's n creates, relayed by the service;
	// everything it got came from the service.
	nets := subNS.Matching(byTable(model.TableLogicalSwitch))
	require.Len(t, nets, n, describe(nets))
	for i, ev := range nets {
		assert.Equal(t, fmt.Sprintf("net-%d", i), ev.Update.Key)
		assert.Equal(t, model.ActionCreate, ev.Update.Action)
	}
	for _, ev := range subNS.All() {
		require.Equal(t, svc.Info().ID, ev.Meta.PublisherID, "neutron-server subscriber got %s", describe([]pubsub.Event{ev}))
	}
	assert.Empty(t, subNS.Matching(byTable(model.TableLogicalPort)))

	// local-controller: exactly n from each controller, nothing from the
	// service or the worker.
	for i, id := range lcIDs {
		got := subLC.Matching(func(ev pubsub.Event) bool {
			return ev.Update.Table == model.TableLogicalPort && ev.Meta.PublisherID == id
		})
		require.Len(t, got, n, "from local controller %d", i+1)
	}
	for _, ev := range subLC.All() {
		require.True(t, slices.Contains(lcIDs, ev.Meta.PublisherID), "local-controller subscriber got %s", describe([]pubsub.Event{ev}))
	}
	assert.Empty(t, subLC.Matching(byTable(model.TableLogicalSwitch)))
	assert.Empty(t, subNS.Gaps())
	assert.Empty(t, subLC.Gaps())
}

// TestNeutronServerWithoutMultiproc: with pub_sub_use_multiproc = False a
// neutron-server process binds [neutron] publisher_port itself and
// registers as neutron-server; its subscribers get its events directly.
func TestNeutronServerWithoutMultiproc(t *testing.T) {
	env := startNB(t)
	db := env.dial(t)
	port := freePort(t)
	_, cfg := env.write(t, hostConfig{host: "api-1", neutronPort: port, socket: env.dir + "/unused.sock",
		controllerPrt: freePort(t)})
	api, err := nbapi.New(t.Context(), cfg, config.RoleNeutronServer, nbapi.WithDB(db),
		nbapi.WithPubSubDriver(fastZMQ()), nbapi.WithLogger(logger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, api.Close()) })
	require.False(t, api.Settings().UseMultiproc)
	id := api.Publisher().Info().ID
	row, ok := rows(t, db)[id]
	require.True(t, ok, "registered")
	assert.Equal(t, model.RoleNeutronServer, row.Role)
	assert.Equal(t, fmt.Sprintf("tcp://127.0.0.1:%d", port), row.URI)

	sub := discoverSub(t, db, []string{model.RoleNeutronServer}, model.DefaultTopic)
	waitSubscribed(t, pubStats(t, api.Publisher()), 1, model.DefaultTopic)
	require.NoError(t, api.Create(t.Context(), &model.LogicalSwitch{ID: "net-1", Topic: "tenant1"}))
	ev := sub.WaitN(t, waitFor, 1, byTable(model.TableLogicalSwitch))[0]
	assert.Equal(t, id, ev.Meta.PublisherID)
}
