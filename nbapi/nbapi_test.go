package nbapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubsub/recorder"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	api *nbapi.NbApi
	db  nb.Driver
	drv *recorder.Driver
}

func (e env) rec(t *testing.T) *recorder.Recorder {
	t.Helper()
	built := e.drv.Built()
	require.Len(t, built, 1, "the publisher is built exactly once")
	return built[0]
}

func newEnv(t *testing.T, role config.Role, set ...[3]string) env {
	t.Helper()
	cfg, err := config.Load(nil, nil)
	require.NoError(t, err)
	for _, s := range set {
		require.NoError(t, cfg.Set(s[0], s[1], s[2]))
	}
	db := memory.New()
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	drv := &recorder.Driver{}
	api, err := nbapi.New(context.Background(), cfg, role, nbapi.WithDB(db), nbapi.WithPubSubDriver(drv))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, api.Close()) })
	return env{api: api, db: db, drv: drv}
}

func lport(id, tenant, name string) *model.LogicalPort {
	return &model.LogicalPort{ID: id, Topic: tenant, Name: name, Version: 1, LSwitch: "net1"}
}

func TestCreatePublishesOnDefaultTopicWhenNotSelective(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	p := lport("p1", "tenant1", "a")
	require.NoError(t, e.api.Create(ctx, p))

	kv, err := e.db.Get(ctx, "lport", "p1")
	require.NoError(t, err)
	want, _ := json.Marshal(p)
	require.JSONEq(t, string(want), string(kv.Value))

	recs := e.rec(t).Records()
	require.Len(t, recs, 1)
	u := recs[0].Update
	require.Equal(t, model.DbUpdate{Table: "lport", Key: "p1", Action: "create", Value: kv.Value, Topic: "D"}, u)
	require.Equal(t, uint64(1), recs[0].Meta.Seq)
	got, meta, err := model.DecodeBody(recs[0].Body)
	require.NoError(t, err)
	require.Equal(t, u, got)
	require.Equal(t, recs[0].Meta, meta, "the body carries publisher id, epoch and seq")
}

func TestCreateUsesObjectTopicWhenSelective(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer, [3]string{"df", "enable_selective_topology_distribution", "True"})
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p1", "tenant1", "a")))
	require.NoError(t, e.api.Create(ctx, &model.Chassis{ID: "c1", IP: "10.0.0.1"}))
	ups := e.rec(t).Updates()
	require.Equal(t, "tenant1", ups[0].Topic)
	require.Equal(t, "D", ups[1].Topic, "topicless models go to D")
}

func TestCreateExistingFailsAndPublishesNothing(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p1", "t", "a")))
	err := e.api.Create(ctx, lport("p1", "t", "b"))
	require.ErrorIs(t, err, nb.ErrExists)
	require.Len(t, e.rec(t).Records(), 1)
}

func TestUpdateWithoutChangeWritesAndPublishesNothing(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p1", "t", "a")))
	rev, err := e.db.Revision(ctx)
	require.NoError(t, err)

	changed, err := e.api.Update(ctx, &model.LogicalPort{ID: "p1", Name: "a"})
	require.NoError(t, err)
	require.False(t, changed)
	rev2, err := e.db.Revision(ctx)
	require.NoError(t, err)
	require.Equal(t, rev, rev2, "no write")
	require.Len(t, e.rec(t).Records(), 1, "no publish")
}

func TestUpdateMergesBumpsVersionAndPublishesSet(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer, [3]string{"df", "enable_selective_topology_distribution", "True"})
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p1", "tenant1", "a")))

	patch := &model.LogicalPort{ID: "p1", Status: model.PortStatusActive}
	changed, err := e.api.Update(ctx, patch)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, "a", patch.Name, "m holds the merged object")
	require.Equal(t, int64(2), patch.Version, "version bumped")

	var stored model.LogicalPort
	stored.ID = "p1"
	require.NoError(t, e.api.Get(ctx, &stored))
	require.Equal(t, *patch, stored)

	ups := e.rec(t).Updates()
	require.Len(t, ups, 2)
	require.Equal(t, "set", ups[1].Action)
	require.Equal(t, "tenant1", ups[1].Topic, "topic of the stored object")
	var published model.LogicalPort
	require.NoError(t, json.Unmarshal(ups[1].Value, &published))
	require.Equal(t, stored, published, "the event carries the full merged JSON")
}

func TestUpdateKeepsExplicitNewerVersion(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p1", "t", "a")))
	patch := &model.LogicalPort{ID: "p1", Name: "b", Version: 7}
	_, err := e.api.Update(ctx, patch)
	require.NoError(t, err)
	require.Equal(t, int64(7), patch.Version)
}

func TestUpdateAndDeleteMissing(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	_, err := e.api.Update(ctx, lport("nope", "t", "a"))
	require.ErrorIs(t, err, nb.ErrNotFound)
	require.ErrorIs(t, e.api.Delete(ctx, lport("nope", "t", "a")), nb.ErrNotFound)
	require.ErrorIs(t, e.api.Get(ctx, lport("nope", "t", "a")), nb.ErrNotFound)
	require.Empty(t, e.rec(t).Records())
}

func TestDeletePublishesNilValueOnStoredTopic(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer, [3]string{"df", "enable_selective_topology_distribution", "True"})
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p1", "tenant9", "a")))
	require.NoError(t, e.api.Delete(ctx, &model.LogicalPort{ID: "p1"}))
	_, err := e.db.Get(ctx, "lport", "p1")
	require.ErrorIs(t, err, nb.ErrNotFound)
	ups := e.rec(t).Updates()
	require.Equal(t, model.DbUpdate{Table: "lport", Key: "p1", Action: "delete", Value: nil, Topic: "tenant9"}, ups[1])
}

func TestListByTopic(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p2", "t1", "b")))
	require.NoError(t, e.api.Create(ctx, lport("p1", "t1", "a")))
	require.NoError(t, e.api.Create(ctx, lport("p3", "t2", "c")))
	all, rev, err := nbapi.List[model.LogicalPort](ctx, e.api, "")
	require.NoError(t, err)
	require.NotZero(t, rev)
	require.Len(t, all, 3)
	require.Equal(t, "p1", all[0].ID, "sorted by key")
	t1, _, err := nbapi.List[model.LogicalPort](ctx, e.api, "t1")
	require.NoError(t, err)
	require.Len(t, t1, 2)
}

func TestPublishFailureIsReportedAfterTheWrite(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	boom := errors.New("service down")
	e.rec(t).FailWith(boom)
	err := e.api.Create(ctx, lport("p1", "t", "a"))
	require.ErrorIs(t, err, nbapi.ErrNotPublished)
	require.ErrorIs(t, err, boom)
	_, err = e.db.Get(ctx, "lport", "p1")
	require.NoError(t, err, "the NB DB write happened first and stays")
}

func TestConcurrentUpdatesAllApply(t *testing.T) {
	e := newEnv(t, nbapi.RoleNeutronServer)
	ctx := context.Background()
	require.NoError(t, e.api.Create(ctx, lport("p1", "t", "a")))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				_, err := e.api.Update(ctx, &model.LogicalPort{ID: "p1", DeviceID: string(rune('a'+i)) + string(rune('0'+j))})
				require.NoError(t, err)
			}
		})
	}
	wg.Wait()
	var p model.LogicalPort
	p.ID = "p1"
	require.NoError(t, e.api.Get(ctx, &p))
	require.Equal(t, int64(81), p.Version, "80 changing updates, each bumped the version once")
	require.Len(t, e.rec(t).Records(), 81)
}

// The role alone decides which section's publisher settings apply.
func TestRoleSelectsPublisherSettings(t *testing.T) {
	cases := []struct {
		role      config.Role
		multiproc bool
		uri       string
		register  string
	}{
		{nbapi.RoleNeutronServer, true, "ipc:///var/run/dragonflow/publisher.sock", "neutron-server"},
		{nbapi.RolePublisherService, false, "tcp://*:8866", "neutron-server"},
		{nbapi.RoleLocalController, false, "tcp://*:8867", "local-controller"},
	}
	for _, c := range cases {
		t.Run(string(c.role), func(t *testing.T) {
			e := newEnv(t, c.role, [3]string{"df", "management_ip", "192.0.2.10"})
			pc := e.rec(t).Config()
			require.Equal(t, c.multiproc, pc.Multiproc)
			require.Equal(t, c.uri, pc.ListenURI)
			require.Equal(t, c.register, pc.Role)
			require.NotEmpty(t, pc.ID)
			require.NotZero(t, pc.Epoch)
			if !c.multiproc {
				require.Equal(t, "192.0.2.10", pc.AdvertiseHost, "never advertise *")
			}
			require.Same(t, e.api.Publisher(), e.api.Publisher())
			require.Equal(t, c.role, e.api.Role())
		})
	}
}

func TestTwoRolesInOneProcessDoNotShareState(t *testing.T) {
	a := newEnv(t, nbapi.RoleNeutronServer)
	b := newEnv(t, nbapi.RoleLocalController)
	require.NotEqual(t, a.rec(t).Config().ID, b.rec(t).Config().ID, "publisher ids differ per role")
	require.NotSame(t, a.api.Publisher(), b.api.Publisher())
}

func TestNewOpensConfiguredDriverAndCloseIsIdempotent(t *testing.T) {
	cfg, err := config.Load(nil, nil)
	require.NoError(t, err)
	require.NoError(t, cfg.Set("df", "nb_db_driver", "memory"))
	api, err := nbapi.New(context.Background(), cfg, nbapi.RoleLocalController,
		nbapi.WithPubSubDriver(&recorder.Driver{}))
	require.NoError(t, err)
	require.NoError(t, api.Create(context.Background(), &model.Chassis{ID: "c1"}))
	require.NoError(t, api.Close())
	require.NoError(t, api.Close())
	_, err = api.DB().Get(context.Background(), "chassis", "c1")
	require.ErrorIs(t, err, nb.ErrClosed, "an owned NB DB is closed with the NbApi")
}

func TestNewFailsOnUnknownDrivers(t *testing.T) {
	cfg, err := config.Load(nil, nil)
	require.NoError(t, err)
	require.NoError(t, cfg.Set("df", "nb_db_driver", "memory"))
	require.NoError(t, cfg.Set("df", "pub_sub_driver", "nonexistent"))
	_, err = nbapi.New(context.Background(), cfg, nbapi.RoleLocalController)
	require.ErrorContains(t, err, "pub_sub_driver")
	_, err = nbapi.New(context.Background(), cfg, config.Role("bogus"))
	require.Error(t, err)
}

func TestWithoutPublisherWritesOnly(t *testing.T) {
	cfg, err := config.Load(nil, nil)
	require.NoError(t, err)
	db := memory.New()
	defer db.Close()
	api, err := nbapi.New(context.Background(), cfg, nbapi.RoleNeutronServer, nbapi.WithDB(db), nbapi.WithoutPublisher())
	require.NoError(t, err)
	defer api.Close()
	require.Nil(t, api.Publisher())
	require.NoError(t, api.Create(context.Background(), &model.Chassis{ID: "c1"}))
}

// The network publisher of each role registers itself with the role it
// registers as; a multiproc worker does not; Close deregisters at once.
func TestPublisherRegistersItselfWithRole(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		role     config.Role
		register string
	}{
		{nbapi.RolePublisherService, "neutron-server"},
		{nbapi.RoleLocalController, "local-controller"},
		{nbapi.RoleNeutronServer, ""},
	} {
		t.Run(string(c.role), func(t *testing.T) {
			cfg, err := config.Load(nil, nil)
			require.NoError(t, err)
			db := memory.New()
			defer db.Close()
			api, err := nbapi.New(ctx, cfg, c.role, nbapi.WithDB(db), nbapi.WithPubSubDriver(&recorder.Driver{}))
			require.NoError(t, err)
			rows, _, err := nbapi.List[model.Publisher](ctx, api, "")
			require.NoError(t, err)
			if c.register == "" {
				require.Empty(t, rows, "multiproc workers push to the service and do not register")
				require.NoError(t, api.Close())
				return
			}
			require.Len(t, rows, 1)
			info := api.Publisher().Info()
			require.Equal(t, info.ID, rows[0].ID)
			require.Equal(t, c.register, rows[0].Role)
			require.Equal(t, info.URI, rows[0].URI)
			kv, err := db.Get(ctx, "publisher", info.ID)
			require.NoError(t, err)
			require.NotZero(t, kv.Lease, "registered on a lease")
			require.NoError(t, api.Close())
			_, err = db.Get(ctx, "publisher", info.ID)
			require.ErrorIs(t, err, nb.ErrNotFound, "Close deregisters at once")
		})
	}
}
