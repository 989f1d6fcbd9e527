package etcd_test

import (
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
	nbetcd "github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
	"github.com/dragonflow-go/dragonflow/pubsub"
	dfetcd "github.com/dragonflow-go/dragonflow/pubsub/etcd"
	"github.com/dragonflow-go/dragonflow/pubsub/pubsubtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startEtcd starts an embedded etcd member for the test (on cfg's socket
// and/or address; a free loopback port when neither is set) and closes it
// at cleanup, after everything registered later.
func startEtcd(t testing.TB, cfg embedded.Config) *embedded.Server {
	t.Helper()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	if cfg.ClientSocket == "" && cfg.ClientAddr == "" {
		cfg.ClientAddr = "127.0.0.1:0"
	}
	cfg.Logger = testLogger(t)
	srv, err := embedded.Start(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	return srv
}

// TestConformance runs the pubsubtest suite (exact topics) against an
// embedded etcd member on a loopback port, one member per case.
func TestConformance(t *testing.T) {
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		hosts := startEtcd(t, embedded.Config{}).Endpoints()
		return pubsubtest.Harness{
			Driver: dfetcd.NewDriver(),
			PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{Hosts: hosts}
			},
			SubscriberHosts: hosts,
		}
	})
}

// TestConformanceRegistered runs the suite with the registered driver over
// a unix socket ("unix:///path", as [df] remote_db_hosts may say).
func TestConformanceRegistered(t *testing.T) {
	d, err := pubsub.Lookup("etcd")
	require.NoError(t, err)
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		hosts := startEtcd(t, embedded.Config{ClientSocket: filepath.Join(t.TempDir(), "etcd.sock")}).Endpoints()
		require.True(t, strings.HasPrefix(hosts[0], "unix://"), "%v", hosts)
		return pubsubtest.Harness{
			Driver: d,
			PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{Hosts: hosts}
			},
			SubscriberHosts: hosts,
		}
	})
}

// Dragonflow's layout (reference §3.4): a strict-mode event is put on
// /pubsub/<topic> as exactly Dragonflow's msgpack body (the §3.1 test
// vector), so a Python etcd subscriber reads it; a v2 event's body carries
// the Meta as extension keys.
func TestKeyLayoutDragonflow(t *testing.T) {
	hosts := startEtcd(t, embedded.Config{}).Endpoints()
	db, err := nbetcd.New(t.Context(), nbetcd.Options{Endpoints: hosts})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	get := func(key string) []byte {
		resp, err := db.Client().Get(t.Context(), key)
		require.NoError(t, err)
		require.Len(t, resp.Kvs, 1, "key %s", key)
		return resp.Kvs[0].Value
	}
	d := dfetcd.NewDriver()

	strict, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "s", Epoch: 1, Hosts: hosts, WireMode: model.WireStrict})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, strict.Close()) })
	require.NoError(t, strict.Publish(t.Context(), model.DbUpdate{Table: "chassis", Key: "c1", Action: "create", Value: []byte(`{"id": "c1"}`), Topic: "D"}))
	want, err := hex.DecodeString(strings.ReplaceAll("85 a5 7461626c65 a7 63686173736973 a3 6b6579 a2 6331 a6 616374696f6e a6 637265617465 a5 76616c7565 ac 7b226964223a20226331227d a5 746f706963 a1 44", " ", ""))
	require.NoError(t, err)
	require.Equal(t, want, get("/pubsub/D"))

	v2, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 7, Hosts: hosts, WireMode: model.WireV2})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v2.Close()) })
	u := model.DbUpdate{Table: "lport", Key: "p1", Action: "delete", Topic: "tenant1"}
	require.NoError(t, v2.Publish(t.Context(), u))
	got, meta, err := model.DecodeBody(get(dfetcd.Key("tenant1")))
	require.NoError(t, err)
	require.Equal(t, u, got)
	require.Equal(t, "p", meta.PublisherID)
	require.Equal(t, uint64(7), meta.Epoch)
	require.Equal(t, uint64(1), meta.Seq)
	// An empty topic travels on model.DefaultTopic.
	require.NoError(t, v2.Publish(t.Context(), model.DbUpdate{Table: "lport", Key: "p2", Action: "delete"}))
	got, _, err = model.DecodeBody(get("/pubsub/D"))
	require.NoError(t, err)
	require.Equal(t, "p2", got.Key)
}

// The publisher's URI names the cluster and is a URI the publisher table
// accepts (discovery.CheckURI), in every host form.
func TestClusterURI(t *testing.T) {
	for hosts, want := range map[string]string{
		"127.0.0.1:2379":                        "etcd://127.0.0.1:2379",
		"10.0.0.5:2379, 10.0.0.6:2379":          "etcd://10.0.0.5:2379,10.0.0.6:2379",
		"http://10.0.0.5:2379":                  "etcd://10.0.0.5:2379",
		"unix:///run/dragonflow/nb.sock":        "etcd://unix:///run/dragonflow/nb.sock",
		"[fd00::1]:2379,https://[fd00::2]:2379": "etcd://[fd00::1]:2379,[fd00::2]:2379",
	} {
		uri := dfetcd.ClusterURI(strings.Split(hosts, ","))
		require.Equal(t, want, uri)
		require.NoError(t, discovery.CheckURI(uri), uri)
	}
	hosts := startEtcd(t, embedded.Config{}).Endpoints()
	p, err := dfetcd.NewDriver().NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Hosts: hosts})
	require.NoError(t, err)
	require.Equal(t, "etcd://"+hosts[0]+"/publisher/p", p.Info().URI)
	require.NoError(t, discovery.CheckURI(p.Info().URI))
	// Discovery de-duplicates rows by uri: two publishers on one cluster
	// must not share one.
	q, err := dfetcd.NewDriver().NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "q", Hosts: hosts})
	require.NoError(t, err)
	require.NotEqual(t, p.Info().URI, q.Info().URI)
	require.NoError(t, p.Close())
	require.NoError(t, q.Close())
}

func TestConfigErrors(t *testing.T) {
	hosts := startEtcd(t, embedded.Config{}).Endpoints()
	d := dfetcd.NewDriver()
	_, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{Hosts: hosts})
	require.ErrorContains(t, err, "OnEvent")
	_, err = d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{OnEvent: func(pubsub.Event) {}, QueueSize: -1, Hosts: hosts})
	require.ErrorContains(t, err, "QueueSize")
	_, err = d.NewPublisher(t.Context(), pubsub.PublisherConfig{Hosts: hosts})
	require.ErrorContains(t, err, "empty ID")
	_, err = d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p"})
	require.ErrorContains(t, err, "remote_db_hosts")

	var sink testutil.Sink
	s, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{OnEvent: sink.OnEvent, Hosts: hosts})
	require.NoError(t, err)
	require.ErrorContains(t, s.RegisterPublisher(pubsub.Endpoint{URI: "x"}), "empty PublisherID")
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.RegisterTopic("x"), pubsub.ErrClosed)
	require.ErrorIs(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p"}), pubsub.ErrClosed)
	require.ErrorIs(t, s.UnregisterTopic("x"), pubsub.ErrClosed)
}

// compact compacts etcd's history up to its current revision.
func compact(t *testing.T, cli *clientv3.Client) int64 {
	t.Helper()
	resp, err := cli.Get(t.Context(), "/", clientv3.WithCountOnly())
	require.NoError(t, err)
	_, err = cli.Compact(t.Context(), resp.Header.Revision, clientv3.WithCompactPhysical())
	require.NoError(t, err)
	return resp.Header.Revision
}
