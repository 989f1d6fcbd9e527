package neutron_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	nbmemory "github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/neutron"
	"github.com/dragonflow-go/dragonflow/pubsub"
	psmemory "github.com/dragonflow-go/dragonflow/pubsub/memory"
	"github.com/dragonflow-go/dragonflow/pubsub/recorder"
)

// env is one in-process neutron server: memory NB DB, an isolated memory
// pub/sub hub, an NbApi of role neutron-server, the REST API on
// 127.0.0.1:0.
type env struct {
	cfg  *config.Config
	db   nb.Driver
	hub  *psmemory.Hub
	rec  *recorder.Recorder
	nb   *nbapi.NbApi
	api  *neutron.API
	srv  *neutron.Server
	url  string
	logs *testutil.LockedBuffer
}

func testLogger(t *testing.T) (*slog.Logger, *testutil.LockedBuffer) {
	t.Helper()
	buf := &testutil.LockedBuffer{}
	var w io.Writer = buf
	if os.Getenv("DF_TEST_LOG") != "" {
		w = io.MultiWriter(buf, os.Stderr)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func newEnv(t *testing.T, set ...[3]string) *env {
	t.Helper()
	log, buf := testLogger(t)
	cfg, err := config.Load(nil, log)
	require.NoError(t, err)
	require.NoError(t, cfg.Set("DEFAULT", "host", "node1"))
	require.NoError(t, cfg.Set("neutron", "pub_sub_use_multiproc", "false"))
	for _, s := range set {
		require.NoError(t, cfg.Set(s[0], s[1], s[2]))
	}
	db := nbmemory.New()
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	hub := psmemory.NewHub()
	rec := recorder.New(pubsub.PublisherConfig{ID: "neutron-test", Epoch: pubsub.NewEpoch()})
	t.Cleanup(func() { require.NoError(t, rec.Close()) })
	api, err := nbapi.New(t.Context(), cfg, nbapi.RoleNeutronServer, nbapi.WithDB(db),
		nbapi.WithPubSubDriver(hub.Driver()), nbapi.WithPublisher(rec), nbapi.WithLogger(log))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, api.Close()) })
	rest, err := neutron.NewAPI(neutron.APIConfig{Nb: api, Logger: log, Worker: "test"})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := neutron.Serve(ln, rest, log)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return &env{cfg: cfg, db: db, hub: hub, rec: rec, nb: api, api: rest, srv: srv, url: "http://" + srv.Addr(), logs: buf}
}

// do sends a JSON request and decodes the JSON answer (if any) into a map.
func (e *env) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		require.NoError(t, json.Unmarshal(data, &out), string(data))
	}
	return resp.StatusCode, out
}

// listen starts the port status listener of host node1 on e.
func (e *env) listen(t *testing.T, cfg neutron.ListenerConfig) *neutron.Listener {
	t.Helper()
	log, _ := testLogger(t)
	cfg.Nb, cfg.Host, cfg.Logger = e.nb, "node1", log
	if cfg.TTL == 0 {
		cfg.TTL = 3 * time.Second
	}
	l, err := neutron.StartListener(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

// ctl is a fake local controller: a publisher on e's hub, registered in
// the publisher table with role local-controller.
type ctl struct {
	id  string
	pub pubsub.Publisher
	reg *discovery.Registration
	db  nb.Driver
}

func (e *env) controller(t *testing.T, id string) *ctl {
	t.Helper()
	pub, err := e.hub.Driver().NewPublisher(t.Context(), pubsub.PublisherConfig{
		ID: id, Epoch: pubsub.NewEpoch(), Role: model.RoleLocalController, ListenURI: "mem://" + id,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, pub.Close()) })
	reg, err := discovery.Register(t.Context(), e.db, discovery.PublisherInfo{
		ID: id, Role: model.RoleLocalController, URI: pub.Info().URI, Host: "node1",
	}, discovery.WithTTL(3*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	return &ctl{id: id, pub: pub, reg: reg, db: e.db}
}

// writeStatus writes the portstatus row as a controller does before it
// publishes.
func (c *ctl) writeStatus(t *testing.T, port, status string, version int64) {
	t.Helper()
	data, err := json.Marshal(&model.PortStatus{ID: port, Topic: "admin", Status: status, Chassis: "node1", Version: version})
	require.NoError(t, err)
	_, err = c.db.Put(t.Context(), model.TablePortStatus, port, data)
	require.NoError(t, err)
}

// publish sends Dragonflow's port status event to the listener of node1.
func (c *ctl) publish(t *testing.T, u model.DbUpdate) {
	t.Helper()
	if u.Topic == "" {
		u.Topic = model.ListenerTopic("node1")
	}
	require.NoError(t, c.pub.Publish(t.Context(), u))
}

// report writes the row and publishes the event, as a controller does.
func (c *ctl) report(t *testing.T, port, status string, version int64) {
	c.writeStatus(t, port, status, version)
	c.publish(t, model.DbUpdate{Table: model.TableLogicalPort, Key: port, Action: model.ActionUpdate, Value: []byte(status)})
}

// portStatus reads the stored LogicalPort.
func (e *env) port(t *testing.T, id string) *model.LogicalPort {
	t.Helper()
	p := &model.LogicalPort{ID: id}
	require.NoError(t, e.nb.Get(t.Context(), p))
	return p
}

// restart starts c's publisher again at the same uri with a new epoch.
func (e *env) restart(t *testing.T, c *ctl) *ctl {
	t.Helper()
	pub, err := e.hub.Driver().NewPublisher(t.Context(), pubsub.PublisherConfig{
		ID: c.id, Epoch: pubsub.NewEpoch() + 1, Role: model.RoleLocalController, ListenURI: "mem://" + c.id,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, pub.Close()) })
	return &ctl{id: c.id, pub: pub, reg: c.reg, db: c.db}
}

func mustLease(t *testing.T, e *env) nb.LeaseID {
	t.Helper()
	kv, err := e.db.Get(t.Context(), model.TableListener, "node1")
	require.NoError(t, err)
	return kv.Lease
}
