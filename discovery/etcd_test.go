package discovery_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

// startEtcd starts an embedded etcd on a free loopback port and returns a
// function that opens a new connection to it (one per simulated process).
// Everything is closed at cleanup, connections before the server.
func startEtcd(t *testing.T) func() *etcd.Driver {
	t.Helper()
	srv, err := embedded.Start(t.Context(), embedded.Config{
		DataDir: filepath.Join(t.TempDir(), "data"), ClientAddr: "127.0.0.1:0", Logger: testLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	return func() *etcd.Driver {
		db, err := etcd.New(t.Context(), etcd.Options{Endpoints: srv.Endpoints(), Logger: testLogger(t)})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, db.Close()) })
		return db
	}
}

// TestEtcdEndToEnd registers publishers on real etcd leases (TTL 2 s, real
// time) and follows them with Discover from another connection: found,
// re-registered after its lease is revoked, dropped within the TTL when its
// process dies, dropped at once when it closes.
func TestEtcdEndToEnd(t *testing.T) {
	const ttl = 2 * time.Second
	dial := startEtcd(t)
	subscriberDB := dial()
	target := newTarget(t)
	discover(t, subscriberDB, target, []string{ns})

	serverDB := dial()
	reg, err := discovery.Register(t.Context(), serverDB, info("server", "tcp://192.0.2.1:8866"),
		discovery.WithTTL(ttl), discovery.WithTimestampRefresh(0), discovery.WithLogger(testLogger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Close() })
	target.eventually(t, "server tcp://192.0.2.1:8866 neutron-server")

	// The lease revoked under the registration: the row goes, and comes
	// back on a new lease at the next keepalive.
	old := reg.Lease()
	require.NoError(t, subscriberDB.Revoke(t.Context(), old))
	require.Eventually(t, func() bool { return reg.Stats().Reregistrations == 1 }, wait, 10*time.Millisecond)
	assert.NotEqual(t, old, reg.Lease())
	require.Eventually(t, func() bool {
		return len(target.opLog()) == 3 && len(target.state()) == 1
	}, wait, 10*time.Millisecond, "ops %q", target.opLog())
	assert.Equal(t, []string{"+server tcp://192.0.2.1:8866", "-server", "+server tcp://192.0.2.1:8866"}, target.opLog())

	// A second publisher that stops cleanly: gone at once.
	ctlDB := dial()
	other, err := discovery.Register(t.Context(), ctlDB, info("other", "tcp://192.0.2.2:8866"),
		discovery.WithTTL(ttl), discovery.WithTimestampRefresh(0), discovery.WithLogger(testLogger(t)))
	require.NoError(t, err)
	target.eventually(t, "other tcp://192.0.2.2:8866 neutron-server", "server tcp://192.0.2.1:8866 neutron-server")
	require.NoError(t, other.Close())
	assert.False(t, exists(t, subscriberDB, "other"), "revoked by Close")
	target.eventually(t, "server tcp://192.0.2.1:8866 neutron-server")

	// The server process dies: its connection goes without a revoke, and
	// etcd deletes the row when the lease runs out.
	killed := time.Now()
	require.NoError(t, serverDB.Close())
	require.Eventually(t, func() bool { return len(target.state()) == 0 }, 2*ttl+2*time.Second, 10*time.Millisecond)
	gone := time.Since(killed)
	t.Logf("row of the dead publisher gone %s after its connection closed (TTL %s)", gone.Round(time.Millisecond), ttl)
	// The last keepalive was at most a refresh period (TTL/3) before the
	// kill, and etcd checks for expired leases every 500 ms.
	assert.Greater(t, gone, ttl/2, "not revoked: the lease ran out")
	assert.Less(t, gone, ttl+2*time.Second, "within the TTL (plus etcd's expiry check and the watch)")
	<-reg.Done()
	assert.ErrorIs(t, reg.Err(), nb.ErrClosed)
}
