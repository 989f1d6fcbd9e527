package controller

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/controller/portsource"
	psfake "github.com/dragonflow-go/dragonflow/controller/portsource/fake"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// addListener writes a listener row for host on its own lease, as a
// neutron server's listener does, and returns the lease.
func addListener(t *testing.T, db nb.Driver, host string) nb.LeaseID {
	t.Helper()
	ctx := context.Background()
	lease, err := db.Grant(ctx, 30*time.Second)
	require.NoError(t, err)
	data, _ := json.Marshal(&model.Listener{ID: host, PPID: 1, Timestamp: 1})
	_, err = db.Create(ctx, model.TableListener, host, data, nb.WithLease(lease))
	require.NoError(t, err)
	return lease
}

func portStatusRow(t *testing.T, db nb.Driver, port string) model.PortStatus {
	t.Helper()
	kv, err := db.Get(context.Background(), model.TablePortStatus, port)
	require.NoError(t, err)
	var ps model.PortStatus
	require.NoError(t, json.Unmarshal(kv.Value, &ps))
	return ps
}

func ofPort(port string) func(pubsub.Event) bool {
	return func(ev pubsub.Event) bool { return ev.Update.Table == "lport" && ev.Update.Key == port }
}

// Port up/down: the portstatus row is written (not published), the status
// goes to one live listener on listener_<host> as Dragonflow's
// (lport, id, update, ACTIVE|DOWN); a listener whose lease is gone is never
// chosen; with none the row is still written.
func TestPortStatusToLiveListeners(t *testing.T) {
	e := newEnv(t, nil, nil)
	require.NoError(t, e.api.Create(t.Context(), lport("p1", "t1", 1)))
	l1 := addListener(t, e.db, "api-1")
	l2 := addListener(t, e.db, "api-2")
	e.start()
	src := e.c.PortSource().(*psfake.Source)
	sink := e.subscribe(model.ListenerTopic("api-1"), model.ListenerTopic("api-2"))

	res := e.portSet(src, "p1", portsource.StatusUp)
	require.Equal(t, model.PortStatusActive, res.Status)
	require.Contains(t, []string{"api-1", "api-2"}, res.Listener)
	require.EqualValues(t, 1, res.Version)
	ps := portStatusRow(t, e.db, "p1")
	require.Equal(t, "t1", ps.Topic)
	require.Equal(t, model.PortStatusActive, ps.Status)
	require.Equal(t, "compute-1", ps.Chassis)
	require.EqualValues(t, 1, ps.Version)
	evs := sink.WaitN(t, waitFor, 1, ofPort("p1"))
	require.Equal(t, model.DbUpdate{Table: "lport", Key: "p1", Action: "update", Value: []byte("ACTIVE"),
		Topic: model.ListenerTopic(res.Listener)}, evs[0].Update)
	require.Equal(t, []string{"p1"}, e.c.LocalPorts())

	res2 := e.portSet(src, "p1", portsource.StatusDown)
	require.Equal(t, model.PortStatusDown, res2.Status)
	require.NotEqual(t, res.Listener, res2.Listener, "round robin")
	require.EqualValues(t, 2, portStatusRow(t, e.db, "p1").Version)
	evs = sink.WaitN(t, waitFor, 2, ofPort("p1"))
	require.Equal(t, "DOWN", string(evs[1].Update.Value))
	require.Empty(t, e.c.LocalPorts())

	require.NoError(t, e.db.Revoke(t.Context(), l1)) // api-1's neutron server died
	for range 4 {
		require.Equal(t, "api-2", e.portSet(src, "p1", portsource.StatusUp).Listener, "a gone listener is never picked")
	}
	require.NoError(t, e.db.Revoke(t.Context(), l2))
	res = e.portSet(src, "p1", portsource.StatusUp)
	require.Empty(t, res.Listener)
	require.EqualValues(t, 7, portStatusRow(t, e.db, "p1").Version, "written without a listener")
	st := e.c.Stats()
	require.EqualValues(t, 1, st.NoListener)
	require.EqualValues(t, 6, st.PortStatusSent)

	_, err := src.Set(t.Context(), "nosuch", portsource.StatusUp)
	require.ErrorIs(t, err, portsource.ErrUnknownPort)
	_, err = e.db.Get(t.Context(), model.TablePortStatus, "nosuch")
	require.ErrorIs(t, err, nb.ErrNotFound)
}

// The fake port source through the admin endpoint (dfctl port up|down).
func TestPortThroughAdmin(t *testing.T) {
	e := newEnv(t, nil, nil)
	require.NoError(t, e.api.Create(t.Context(), lport("p1", "t1", 1)))
	addListener(t, e.db, "api-1")
	e.start()
	var res portsource.Result
	require.NoError(t, admin.PostJSON(t.Context(), e.c.AdminAddr(), "/port", psfake.Request{Port: "p1", Status: "up"}, &res))
	require.Equal(t, portsource.Result{Port: "p1", Status: "ACTIVE", Listener: "api-1", Version: 1}, res)

	err := admin.PostJSON(t.Context(), e.c.AdminAddr(), "/port", psfake.Request{Port: "nosuch", Status: "up"}, nil)
	require.ErrorIs(t, err, admin.ErrRequest)
	require.ErrorContains(t, err, "404")
	require.ErrorContains(t, err, "nosuch")
	err = admin.PostJSON(t.Context(), e.c.AdminAddr(), "/port", psfake.Request{Port: "p1", Status: "sideways"}, nil)
	require.ErrorContains(t, err, "400")
	err = admin.PostJSON(t.Context(), e.c.AdminAddr(), "/port", map[string]string{"status": "up"}, nil)
	require.ErrorContains(t, err, "400")

	resp, err := http.Get("http://" + e.c.AdminAddr() + "/port")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}
