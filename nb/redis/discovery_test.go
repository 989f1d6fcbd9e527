package redis_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/internal/redistest"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// target records what Discover connects.
type target struct {
	mu    sync.Mutex
	conns map[string]pubsub.Endpoint
	ops   []string
}

func (f *target) RegisterPublisher(ep pubsub.Endpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns[ep.PublisherID] = ep
	f.ops = append(f.ops, "+"+ep.PublisherID)
	return nil
}

func (f *target) UnregisterPublisher(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.conns[id]; !ok {
		return fmt.Errorf("target: %s: %w", id, pubsub.ErrUnknownPublisher)
	}
	delete(f.conns, id)
	f.ops = append(f.ops, "-"+id)
	return nil
}

func (f *target) state() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []string{}
	for _, ep := range f.conns {
		out = append(out, ep.PublisherID+" "+ep.URI+" "+ep.Role)
	}
	sort.Strings(out)
	return out
}

func (f *target) eventually(t *testing.T, within time.Duration, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	require.Eventually(t, func() bool { return fmt.Sprint(f.state()) == fmt.Sprint(want) }, within, 10*time.Millisecond,
		"target holds %q, want %q", f.state(), want)
}

// TestDiscovery runs discovery.Register and discovery.Discover on the Redis
// NB DB, each process with its own connection, on real leases (TTL 2 s):
// a registered publisher is found; one that closes is dropped at once (its
// lease revoked); one whose process dies (connection closed, no revoke) is
// dropped when its lease expires, by the reaper of a driver still alive,
// whose delete event reaches the watch.
func TestDiscovery(t *testing.T) {
	const ttl = 2 * time.Second
	srv := redistest.Start(t, false)
	subscriberDB := newDriver(t, srv.Addr())
	tg := &target{conns: map[string]pubsub.Endpoint{}}
	disc, err := discovery.Discover(t.Context(), subscriberDB, tg, []string{model.RoleNeutronServer},
		discovery.WithLogger(testLogger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, disc.Close()) })

	register := func(id, uri string) (*discovery.Registration, func() error) {
		db := newDriver(t, srv.Addr())
		reg, err := discovery.Register(t.Context(), db, discovery.PublisherInfo{
			ID: id, Role: model.RoleNeutronServer, URI: uri, Host: "host-" + id, PID: 42, Epoch: 1,
		}, discovery.WithTTL(ttl), discovery.WithTimestampRefresh(0), discovery.WithLogger(testLogger(t)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = reg.Close() })
		return reg, db.Close
	}

	server, killServer := register("server", "tcp://192.0.2.1:8866")
	tg.eventually(t, 5*time.Second, "server tcp://192.0.2.1:8866 neutron-server")
	other, _ := register("other", "tcp://192.0.2.2:8866")
	tg.eventually(t, 5*time.Second, "other tcp://192.0.2.2:8866 neutron-server", "server tcp://192.0.2.1:8866 neutron-server")

	// A clean stop revokes the lease: gone at once.
	require.NoError(t, other.Close())
	tg.eventually(t, 5*time.Second, "server tcp://192.0.2.1:8866 neutron-server")

	// Rows stay while their registration keeps the lease alive (several
	// TTLs), and stay in the Dragonflow layout.
	raw := redistest.AdminClient(srv.Addr())
	t.Cleanup(func() { _ = raw.Close() })
	time.Sleep(ttl + ttl/2) // real time must pass: the point is that nothing happens
	tg.eventually(t, time.Second, "server tcp://192.0.2.1:8866 neutron-server")
	n, err := raw.Exists(t.Context(), "{publisher.}server").Result()
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)

	// The server process dies: no revoke; the lease runs out.
	killed := time.Now()
	require.NoError(t, killServer())
	tg.eventually(t, 2*ttl+3*time.Second)
	gone := time.Since(killed)
	t.Logf("row of the dead publisher gone %s after its connection closed (TTL %s)", gone.Round(time.Millisecond), ttl)
	assert.Greater(t, gone, ttl/2, "not revoked: the lease ran out")
	assert.Less(t, gone, ttl+2*time.Second, "within the TTL, plus the reap interval and the watch")
	<-server.Done()
	assert.Equal(t, []string{"+server", "+other", "-other", "-server"}, tg.ops)
}
