package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	psfake "github.com/dragonflow-go/dragonflow/controller/portsource/fake"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

var selectiveOn = [][3]string{{config.GroupDF, config.OptEnableSelectiveTopologyDistribution, "True"}}

// newSelective starts a selective controller with two tenants' topology
// in the NB DB: t1 (net-t1, p1, p2) and t2 (net-t2, p3).
func newSelective(t *testing.T) (*env, *psfake.Source) {
	t.Helper()
	e := newEnv(t, selectiveOn, nil)
	ctx := t.Context()
	for _, m := range []model.Model{lswitch("t1"), lport("p1", "t1", 1), lport("p2", "t1", 1), lswitch("t2"), lport("p3", "t2", 1)} {
		require.NoError(t, e.api.Create(ctx, m))
	}
	e.start()
	return e, e.c.PortSource().(*psfake.Source)
}

func (e *env) portSet(src *psfake.Source, port string, st portsource.Status) portsource.Result {
	e.t.Helper()
	res, err := src.Set(e.t.Context(), port, st)
	require.NoError(e.t, err)
	return res
}

// test_vm_port_online_offline and test_vm_online_after_topology_pulled:
// the first local port of a tenant subscribes its topic once and pulls its
// topology; the second does not subscribe again; the last one going
// unsubscribes and drops the tenant's objects.
func TestSelectivePortOnlineOffline(t *testing.T) {
	e, src := newSelective(t)
	require.Equal(t, []string{"D"}, e.c.Topics())
	_, ok := e.c.Cached("lport", "p1")
	require.False(t, ok, "tenant topics are not followed before a local port")

	e.portSet(src, "p1", portsource.StatusUp)
	require.Equal(t, []string{"D", "t1"}, e.c.Topics())
	e.waitCached("lswitch", "net-t1", 1)
	e.waitCached("lport", "p1", 1)
	e.waitCached("lport", "p2", 1)
	_, ok = e.c.Cached("lport", "p3")
	require.False(t, ok, "other tenants are not pulled")
	require.EqualValues(t, 1, e.c.Stats().TopicsRegistered)

	e.portSet(src, "p2", portsource.StatusUp)
	require.EqualValues(t, 1, e.c.Stats().TopicsRegistered, "no second register_topic")
	require.Equal(t, []string{"p1", "p2"}, e.c.LocalPorts())

	// Events of the followed tenant now arrive.
	e.waitSubscribed("D", "t1")
	_, err := e.api.Update(t.Context(), &model.LogicalPort{ID: "p1", Name: "web"})
	require.NoError(t, err)
	e.waitCached("lport", "p1", 2)

	e.portSet(src, "p1", portsource.StatusDown)
	require.Equal(t, []string{"D", "t1"}, e.c.Topics())
	e.portSet(src, "p2", portsource.StatusDown)
	require.Equal(t, []string{"D"}, e.c.Topics())
	require.EqualValues(t, 1, e.c.Stats().TopicsUnregistered)
	for _, k := range [][2]string{{"lport", "p1"}, {"lport", "p2"}, {"lswitch", "net-t1"}} {
		_, ok := e.c.Cached(k[0], k[1])
		require.False(t, ok, "%v dropped with the topic", k)
	}
	_, ok = e.c.Cached("chassis", "compute-1")
	require.True(t, ok, "topicless objects stay")
}

// test_multi_vm_port_online_restart_controller: ports of two tenants
// register both topics, once each.
func TestSelectiveTwoTenants(t *testing.T) {
	e, src := newSelective(t)
	e.portSet(src, "p1", portsource.StatusUp)
	e.portSet(src, "p3", portsource.StatusUp)
	e.portSet(src, "p2", portsource.StatusUp)
	require.Equal(t, []string{"D", "t1", "t2"}, e.c.Topics())
	require.EqualValues(t, 2, e.c.Stats().TopicsRegistered)
	e.waitCached("lport", "p3", 1)
	e.waitCached("lswitch", "net-t2", 1)
	e.waitCached("lport", "p2", 1)
}

// test_db_sync: a sync with a subscribed tenant topic pulls that tenant's
// objects, including one whose event was lost.
func TestSelectiveSyncOfSubscribedTopic(t *testing.T) {
	e, src := newSelective(t)
	e.portSet(src, "p1", portsource.StatusUp)
	e.waitCached("lport", "p2", 1)
	put(t, e.db, lport("p9", "t1", 1))
	put(t, e.db, lport("p8", "t2", 1))
	e.c.handleGap(pubsub.Gap{Reason: pubsub.GapSeq, Topic: "t1"})
	e.waitCached("lport", "p9", 1)
	require.Eventually(t, func() bool { return e.h.resyncsOf("gap-seq") == 1 }, waitFor, time.Millisecond)
	for _, r := range e.h.Resyncs() {
		if r.Reason == "gap-seq" {
			require.Equal(t, "t1", r.Topic, "the gap's topic only")
		}
	}
	_, ok := e.c.Cached("lport", "p8")
	require.False(t, ok)
}
