package controller

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	apfake "github.com/dragonflow-go/dragonflow/controller/activeport/fake"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	psfake "github.com/dragonflow-go/dragonflow/controller/portsource/fake"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Active port set/del: written through the NbApi and published on the
// controller's publisher.
func TestActivePortSetDelPublished(t *testing.T) {
	e := newEnv(t, nil, nil)
	require.NoError(t, e.api.Create(t.Context(), lport("p1", "t1", 1)))
	require.NoError(t, e.api.Create(t.Context(), lport("p2", "t1", 1)))
	e.start()
	sink := e.subscribe(model.DefaultTopic)
	det := e.c.Detector().(*apfake.Detector)
	ofAP := func(ev pubsub.Event) bool { return ev.Update.Table == model.TableActivePort }

	set := activeport.Detection{Action: activeport.Set, Network: "net-t1", IP: "10.0.0.100", Port: "p1"}
	res, err := det.Report(t.Context(), set)
	require.NoError(t, err)
	require.Equal(t, activeport.Result{Action: "set", ID: "net-t110.0.0.100", Topic: "t1", Network: "net-t1",
		IP: "10.0.0.100", Port: "p1", MAC: "fa:16:3e:00:00:01", Changed: true}, res)
	kv, err := e.db.Get(t.Context(), model.TableActivePort, "net-t110.0.0.100")
	require.NoError(t, err)
	var ap model.ActivePort
	require.NoError(t, json.Unmarshal(kv.Value, &ap))
	require.Equal(t, model.ActivePort{ID: "net-t110.0.0.100", Topic: "t1", Network: "net-t1", IP: "10.0.0.100",
		DetectedMAC: "fa:16:3e:00:00:01", DetectedLPort: "p1"}, ap)
	evs := sink.WaitN(t, waitFor, 1, ofAP)
	require.Equal(t, model.ActionCreate, evs[0].Update.Action)

	res, err = det.Report(t.Context(), set)
	require.NoError(t, err)
	require.False(t, res.Changed, "same detection: nothing written")

	// The VIP moves to p2: updated.
	set.Port, set.MAC = "p2", "fa:16:3e:00:00:02"
	res, err = det.Report(t.Context(), set)
	require.NoError(t, err)
	require.True(t, res.Changed)
	evs = sink.WaitN(t, waitFor, 2, ofAP)
	require.Equal(t, model.ActionSet, evs[1].Update.Action)

	del := activeport.Detection{Action: activeport.Del, Network: "net-t1", IP: "10.0.0.100", Port: "p1"}
	_, err = det.Report(t.Context(), del)
	require.ErrorIs(t, err, activeport.ErrConflict, "p1 is no longer the detected port")
	del.Port = "p2"
	var out activeport.Result
	require.NoError(t, admin.PostJSON(t.Context(), e.c.AdminAddr(), "/activeport", del, &out))
	require.True(t, out.Changed)
	_, err = e.db.Get(t.Context(), model.TableActivePort, "net-t110.0.0.100")
	require.ErrorIs(t, err, nb.ErrNotFound)
	evs = sink.WaitN(t, waitFor, 3, ofAP)
	require.Equal(t, model.ActionDelete, evs[2].Update.Action)
	require.EqualValues(t, 4, e.c.Stats().EventsOut, "chassis + 3 active port writes")

	err = admin.PostJSON(t.Context(), e.c.AdminAddr(), "/activeport", del, nil)
	require.ErrorContains(t, err, "404")
	err = admin.PostJSON(t.Context(), e.c.AdminAddr(), "/activeport",
		activeport.Detection{Action: "set", Network: "n", IP: "not-an-ip", Port: "p1"}, nil)
	require.ErrorContains(t, err, "400")
	err = admin.PostJSON(t.Context(), e.c.AdminAddr(), "/activeport",
		activeport.Detection{Action: "set", Network: "n", IP: "10.0.0.1", Port: "nosuch"}, nil)
	require.ErrorContains(t, err, "404")
}

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestStatusCacheMetrics(t *testing.T) {
	e := newEnv(t, selectiveOn, nil)
	require.NoError(t, e.api.Create(t.Context(), lswitch("t1")))
	require.NoError(t, e.api.Create(t.Context(), lport("p1", "t1", 1)))
	addListener(t, e.db, "api-1")
	e.start()
	src := e.c.PortSource().(*psfake.Source)
	e.portSet(src, "p1", portsource.StatusUp)
	e.waitCached("lport", "p1", 1)
	require.NoError(t, e.api.Create(t.Context(), &model.Chassis{ID: "compute-2", IP: "10.0.0.2"}))
	e.waitCached("chassis", "compute-2", 0)

	var st admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), e.c.AdminAddr(), "/status", &st))
	require.Equal(t, "local-controller", st.Role)
	require.Equal(t, "compute-1", st.Host)
	require.Equal(t, e.c.PublisherID(), st.PublisherID)
	require.Equal(t, e.c.PublisherURI(), st.PublisherURI)
	require.True(t, st.Ready)
	require.EqualValues(t, 2, st.EventsOut, "chassis + port status")
	require.GreaterOrEqual(t, st.Resyncs, uint64(2))
	require.Equal(t, []any{"D", "t1"}, st.Detail["topics"])
	require.Equal(t, []any{"p1"}, st.Detail["local_ports"])
	require.EqualValues(t, 1, st.Detail["publishers"])

	var view CacheView
	require.NoError(t, admin.GetJSON(t.Context(), e.c.AdminAddr(), "/cache", &view))
	require.Equal(t, "compute-1", view.Host)
	require.Equal(t, []string{"D", "t1"}, view.Topics)
	require.Equal(t, []string{"p1"}, view.LocalPorts)
	require.JSONEq(t, `{"id":"p1","topic":"t1","version":1,"lswitch":"net-t1","macs":["fa:16:3e:00:00:01"],"enabled":false}`,
		string(view.Tables["lport"]["p1"]))
	require.Contains(t, view.Tables["chassis"], "compute-1")

	code, body := get(t, e.c.AdminAddr(), "/healthz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get(t, e.c.AdminAddr(), "/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`df_controller_cache_objects{table="lport"} 1`,
		`df_controller_subscribed_topics 2`,
		`df_controller_port_status_sent_total{status="ACTIVE"} 1`,
		`df_controller_resyncs_total{reason="start"} 1`,
		`df_controller_resyncs_total{reason="topic-added"} 1`,
		`df_controller_local_ports 1`,
		`df_controller_ready 1`,
		`df_controller_events_received_total{action="create",table="chassis"} 1`,
		"df_controller_port_status_no_listener_total 0",
		"go_goroutines",
	} {
		require.True(t, strings.Contains(body, want), "metrics lack %q", want)
	}
}
