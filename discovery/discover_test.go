package discovery_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

const (
	ns = model.RoleNeutronServer
	lc = model.RoleLocalController
)

// discover starts a Discovery of roles into target, closed at cleanup.
func discover(t *testing.T, db nb.Driver, target discovery.Target, roles []string, opts ...discovery.Option) *discovery.Discovery {
	t.Helper()
	opts = append([]discovery.Option{discovery.WithLogger(testLogger(t))}, opts...)
	d, err := discovery.Discover(t.Context(), db, target, roles, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

// resyncs collects the Resync reports of a Discovery.
type resyncs struct {
	mu  sync.Mutex
	got []discovery.Resync
}

func (r *resyncs) add(rs discovery.Resync) { r.mu.Lock(); r.got = append(r.got, rs); r.mu.Unlock() }

func (r *resyncs) list() []discovery.Resync {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]discovery.Resync(nil), r.got...)
}

func TestDiscoverFiltersByRole(t *testing.T) {
	db, _ := newMemory(t)
	putRow(t, db, pub("ns-1", ns, "tcp://192.0.2.1:8866"))
	putRow(t, db, pub("lc-1", lc, "tcp://192.0.2.2:8867"))
	// Python Dragonflow's shape: no role, host, pid or epoch.
	putRaw(t, db, "py-1", `{"id": "py-1", "uri": "tcp://192.0.2.3:8866", "last_activity_timestamp": 1700000000.5}`)

	controller := newTarget(t)
	d := discover(t, db, controller, []string{ns})
	assert.Equal(t, []string{"ns-1 tcp://192.0.2.1:8866 neutron-server", "py-1 tcp://192.0.2.3:8866 neutron-server"},
		controller.state(), "connected before Discover returns")
	got := d.Publishers()
	require.Len(t, got, 2)
	assert.Equal(t, discovery.PublisherInfo{ID: "ns-1", Role: ns, URI: "tcp://192.0.2.1:8866", Epoch: 1}, got[0])
	assert.Equal(t, "py-1", got[1].ID)

	server := newTarget(t)
	discover(t, db, server, []string{lc})
	assert.Equal(t, []string{"lc-1 tcp://192.0.2.2:8867 local-controller"}, server.state())

	both := newTarget(t)
	discover(t, db, both, []string{lc, ns})
	assert.Len(t, both.state(), 3)

	putRow(t, db, pub("lc-2", lc, "tcp://192.0.2.4:8867"))
	server.eventually(t, "lc-1 tcp://192.0.2.2:8867 local-controller", "lc-2 tcp://192.0.2.4:8867 local-controller")
	assert.Len(t, controller.state(), 2, "controllers do not connect to each other")
}

// TestDiscoverFollowsTheTable walks one publisher through every kind of
// change.
func TestDiscoverFollowsTheTable(t *testing.T) {
	db, fake := newMemory(t)
	target := newTarget(t)
	d := discover(t, db, target, []string{ns})
	assert.Empty(t, target.state())

	putRow(t, db, pub("p", ns, "tcp://192.0.2.1:8866"))
	target.eventually(t, "p tcp://192.0.2.1:8866 neutron-server")

	// The same id under another address: the connection is replaced.
	putRow(t, db, pub("p", ns, "tcp://192.0.2.9:8866"))
	target.eventually(t, "p tcp://192.0.2.9:8866 neutron-server")

	// A timestamp refresh or a new epoch changes no connection.
	refreshed := pub("p", ns, "tcp://192.0.2.9:8866")
	refreshed.LastActivityTimestamp, refreshed.Epoch = 1700000060, 2
	putRow(t, db, refreshed)
	require.Eventually(t, func() bool {
		ps := d.Publishers()
		return len(ps) == 1 && ps[0].Epoch == 2
	}, wait, tick)

	// A role this subscriber does not want: disconnect; wanted again: connect.
	putRow(t, db, pub("p", lc, "tcp://192.0.2.9:8866"))
	target.eventually(t)
	putRow(t, db, pub("p", ns, "tcp://192.0.2.9:8866"))
	target.eventually(t, "p tcp://192.0.2.9:8866 neutron-server")

	deleteRow(t, db, "p")
	target.eventually(t)

	// A row on a lease goes when the lease expires.
	lease, err := db.Grant(t.Context(), 10*time.Second)
	require.NoError(t, err)
	putRow(t, db, pub("q", ns, "tcp://192.0.2.2:8866"), nb.WithLease(lease))
	target.eventually(t, "q tcp://192.0.2.2:8866 neutron-server")
	fake.Advance(10 * time.Second)
	target.eventually(t)

	assert.Equal(t, []string{
		"+p tcp://192.0.2.1:8866", "+p tcp://192.0.2.9:8866", "-p", "+p tcp://192.0.2.9:8866", "-p",
		"+q tcp://192.0.2.2:8866", "-q",
	}, target.opLog(), "one call per change, none for the refresh")
	assert.Zero(t, d.Stats().Resyncs)
	assert.Empty(t, d.Publishers())
}

// TestDiscoverDedupByID: one publisher id written under two addresses is
// connected once, the second address replacing the first, never both.
func TestDiscoverDedupByID(t *testing.T) {
	db, _ := newMemory(t)
	target := newTarget(t)
	d := discover(t, db, target, []string{ns})
	putRow(t, db, pub("p", ns, "tcp://127.0.0.1:8866"))
	target.eventually(t, "p tcp://127.0.0.1:8866 neutron-server")
	putRow(t, db, pub("p", ns, "tcp://192.0.2.1:8866"))
	target.eventually(t, "p tcp://192.0.2.1:8866 neutron-server")
	assert.Equal(t, []string{"+p tcp://127.0.0.1:8866", "+p tcp://192.0.2.1:8866"}, target.opLog())
	require.Len(t, d.Publishers(), 1)
}

// TestDiscoverDedupByURI: two rows advertising one uri (a restarted
// publisher whose old row has not expired yet) are connected once: the
// newer incarnation; the other takes over only if the newer goes away.
func TestDiscoverDedupByURI(t *testing.T) {
	db, _ := newMemory(t)
	old := pub("old", ns, "tcp://192.0.2.1:8866")
	putRow(t, db, old)
	target := newTarget(t)
	discover(t, db, target, []string{ns})
	target.eventually(t, "old tcp://192.0.2.1:8866 neutron-server")

	restarted := pub("new", ns, "tcp://192.0.2.1:8866")
	restarted.Epoch = 2
	putRow(t, db, restarted)
	target.eventually(t, "new tcp://192.0.2.1:8866 neutron-server")
	assert.Equal(t, []string{"+old tcp://192.0.2.1:8866", "-old", "+new tcp://192.0.2.1:8866"}, target.opLog(),
		"the old connection goes before the new one comes")

	// An older incarnation arriving later does not take over.
	older := pub("older", ns, "tcp://192.0.2.1:8866")
	older.Epoch = 0
	putRow(t, db, older)
	deleteRow(t, db, "new")
	target.eventually(t, "old tcp://192.0.2.1:8866 neutron-server")
	deleteRow(t, db, "old")
	target.eventually(t, "older tcp://192.0.2.1:8866 neutron-server")
}

func TestDiscoverExcludesSelf(t *testing.T) {
	db, _ := newMemory(t)
	putRow(t, db, pub("self", ns, "tcp://192.0.2.1:8866"))
	putRow(t, db, pub("other", ns, "tcp://192.0.2.2:8866"))
	target := newTarget(t)
	discover(t, db, target, []string{ns}, discovery.WithExcludeID("self"))
	assert.Equal(t, []string{"other tcp://192.0.2.2:8866 neutron-server"}, target.state())
	putRow(t, db, pub("self", ns, "tcp://192.0.2.3:8866"))
	putRow(t, db, pub("third", ns, "tcp://192.0.2.4:8866"))
	target.eventually(t, "other tcp://192.0.2.2:8866 neutron-server", "third tcp://192.0.2.4:8866 neutron-server")
}

func TestDiscoverSkipsUndecodableRows(t *testing.T) {
	db, _ := newMemory(t)
	putRaw(t, db, "garbage", `{"id": "garbage", "uri": `)
	putRow(t, db, pub("wildcard", ns, "tcp://0.0.0.0:8866"))
	putRow(t, db, pub("other-key", ns, "tcp://192.0.2.5:8866")) // rewritten under another key below
	putRaw(t, db, "mismatch", `{"id": "other-key", "uri": "tcp://192.0.2.5:8866"}`)
	putRow(t, db, pub("good", ns, "tcp://192.0.2.1:8866"))
	target := newTarget(t)
	d := discover(t, db, target, []string{ns})
	assert.Equal(t, []string{"good tcp://192.0.2.1:8866 neutron-server", "other-key tcp://192.0.2.5:8866 neutron-server"},
		target.state())
	assert.Equal(t, int64(3), d.Stats().InvalidRows)

	// A connected publisher whose row turns unreadable is dropped.
	putRaw(t, db, "good", `not json`)
	target.eventually(t, "other-key tcp://192.0.2.5:8866 neutron-server")
	assert.Equal(t, int64(4), d.Stats().InvalidRows)
}

// TestDiscoverRelistsAfterCompaction: the changes made between the list
// and the watch are compacted away, so the watch fails with ErrCompacted;
// the discovery lists again, applies the difference and watches on.
func TestDiscoverRelistsAfterCompaction(t *testing.T) {
	inner, _ := newMemory(t)
	db := newFlaky(inner)
	putRow(t, db, pub("gone", ns, "tcp://192.0.2.1:8866"))
	putRow(t, db, pub("stays", ns, "tcp://192.0.2.2:8866"))
	db.setBeforeWatch(func() { // on the discovery's goroutine: no require
		ctx := t.Context()
		assert.NoError(t, inner.Delete(ctx, model.TablePublisher, "gone", 0))
		_, err := inner.Put(ctx, model.TablePublisher, "came", []byte(`{"id": "came", "role": "neutron-server", "uri": "tcp://192.0.2.3:8866"}`))
		assert.NoError(t, err)
		rev, err := inner.Revision(ctx)
		assert.NoError(t, err)
		assert.NoError(t, inner.Compact(ctx, rev))
	})
	var rs resyncs
	target := newTarget(t)
	d := discover(t, db, target, []string{ns}, discovery.WithOnResync(rs.add))
	target.eventually(t, "came tcp://192.0.2.3:8866 neutron-server", "stays tcp://192.0.2.2:8866 neutron-server")

	require.Eventually(t, func() bool { return len(rs.list()) == 1 && db.watchCount() == 2 }, wait, tick,
		"reported, then watching again")
	got := rs.list()
	assert.ErrorIs(t, got[0].Reason, nb.ErrCompacted)
	assert.Equal(t, 1, got[0].Registered)
	assert.Equal(t, 1, got[0].Unregistered)
	assert.Equal(t, int64(1), d.Stats().Resyncs)

	putRow(t, db, pub("later", ns, "tcp://192.0.2.4:8866"))
	target.eventually(t, "came tcp://192.0.2.3:8866 neutron-server", "later tcp://192.0.2.4:8866 neutron-server",
		"stays tcp://192.0.2.2:8866 neutron-server")
}

// TestDiscoverRelistsAfterBrokenWatch: while the watch is cut off, events
// are lost; when it breaks, the relist catches up on membership.
func TestDiscoverRelistsAfterBrokenWatch(t *testing.T) {
	inner, _ := newMemory(t)
	db := newFlaky(inner)
	putRow(t, db, pub("a", ns, "tcp://192.0.2.1:8866"))
	var rs resyncs
	target := newTarget(t)
	d := discover(t, db, target, []string{ns}, discovery.WithOnResync(rs.add))

	db.deaf.Store(true)
	deleteRow(t, db, "a")
	putRow(t, db, pub("b", ns, "tcp://192.0.2.2:8866"))
	putRow(t, db, pub("c", ns, "tcp://192.0.2.3:8866"))
	assert.Never(t, func() bool { return len(target.state()) != 1 }, 50*time.Millisecond, tick, "events lost")
	db.deaf.Store(false)
	db.breakWatch(t, errWatchBroken)
	target.eventually(t, "b tcp://192.0.2.2:8866 neutron-server", "c tcp://192.0.2.3:8866 neutron-server")
	require.Eventually(t, func() bool { return len(rs.list()) == 1 }, wait, tick)
	got := rs.list()
	assert.ErrorIs(t, got[0].Reason, errWatchBroken)
	assert.Equal(t, 2, got[0].Registered)
	assert.Equal(t, 1, got[0].Unregistered)
	assert.Equal(t, int64(1), d.Stats().Resyncs)

	deleteRow(t, db, "c")
	target.eventually(t, "b tcp://192.0.2.2:8866 neutron-server")
}

// TestDiscoverBacksOffWhileNBDBUnreachable: relists that fail are retried
// with backoff on the clock until the NB DB answers.
func TestDiscoverBacksOffWhileNBDBUnreachable(t *testing.T) {
	inner, fake := newMemory(t)
	db := newFlaky(inner)
	var rs resyncs
	target := newTarget(t)
	discover(t, db, target, []string{ns}, discovery.WithClock(fake), discovery.WithOnResync(rs.add),
		discovery.WithRetry(time.Second, 8*time.Second))
	db.down.Store(true)
	db.breakWatch(t, errWatchBroken)
	putRow(t, inner, pub("a", ns, "tcp://192.0.2.1:8866"))
	settle(t, fake, 1) // the first relist failed; the retry is armed
	db.down.Store(false)
	fake.Advance(time.Second)
	target.eventually(t, "a tcp://192.0.2.1:8866 neutron-server")
	require.Eventually(t, func() bool { return len(rs.list()) == 1 }, wait, tick)
}

func TestDiscoverRetriesTargetErrors(t *testing.T) {
	db, fake := newMemory(t)
	target := newTarget(t)
	target.refuse(2)
	putRow(t, db, pub("a", ns, "tcp://192.0.2.1:8866"))
	d := discover(t, db, target, []string{ns}, discovery.WithClock(fake), discovery.WithRetry(time.Second, 4*time.Second))
	assert.Empty(t, target.state())
	assert.True(t, d.Stats().RetryPending)
	settle(t, fake, 1)
	fake.Advance(time.Second) // second refusal
	require.Eventually(t, func() bool { return d.Stats().TargetErrors == 2 }, wait, tick)
	settle(t, fake, 1)
	fake.Advance(2 * time.Second)
	target.eventually(t, "a tcp://192.0.2.1:8866 neutron-server")
	require.Eventually(t, func() bool { return !d.Stats().RetryPending }, wait, tick)
	assert.Len(t, d.Publishers(), 1)
}

func TestDiscoverPeriodicResync(t *testing.T) {
	db, fake := newMemory(t)
	var rs resyncs
	target := newTarget(t)
	discover(t, db, target, []string{ns}, discovery.WithClock(fake), discovery.WithOnResync(rs.add),
		discovery.WithResyncInterval(time.Minute))
	settle(t, fake, 1)
	fake.Advance(time.Minute)
	require.Eventually(t, func() bool { return len(rs.list()) == 1 }, wait, tick)
	assert.ErrorIs(t, rs.list()[0].Reason, discovery.ErrPeriodicResync)
	settle(t, fake, 1) // armed again
}

func TestDiscoverStops(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		db, _ := newMemory(t)
		d, err := discovery.Discover(t.Context(), db, newTarget(t), []string{ns})
		require.NoError(t, err)
		require.NoError(t, d.Close())
		require.NoError(t, d.Close())
		<-d.Done()
		assert.NoError(t, d.Err())
	})
	t.Run("context", func(t *testing.T) {
		db, _ := newMemory(t)
		ctx, cancel := context.WithCancel(t.Context())
		d, err := discovery.Discover(ctx, db, newTarget(t), []string{ns})
		require.NoError(t, err)
		assert.NoError(t, d.Err(), "nil while running")
		cancel()
		<-d.Done()
		assert.ErrorIs(t, d.Err(), context.Canceled)
		require.NoError(t, d.Close())
	})
	t.Run("driver closed", func(t *testing.T) {
		db, _ := newMemory(t)
		d, err := discovery.Discover(t.Context(), db, newTarget(t), []string{ns})
		require.NoError(t, err)
		require.NoError(t, db.Close())
		<-d.Done()
		assert.ErrorIs(t, d.Err(), nb.ErrClosed)
		require.NoError(t, d.Close())
	})
}

func TestDiscoverRejects(t *testing.T) {
	db, _ := newMemory(t)
	_, err := discovery.Discover(t.Context(), db, newTarget(t), nil)
	require.ErrorContains(t, err, "no roles")
	_, err = discovery.Discover(t.Context(), db, newTarget(t), []string{"publisher-service"})
	require.ErrorContains(t, err, `unknown role "publisher-service"`)

	flaky := newFlaky(db)
	flaky.down.Store(true)
	_, err = discovery.Discover(t.Context(), flaky, newTarget(t), []string{ns})
	require.ErrorIs(t, err, errUnreachable)
	assert.False(t, errors.Is(err, discovery.ErrInvalid))
}

// TestRegisterAndDiscover runs both on one NB DB: a controller discovers
// the neutron-server publisher (not itself), and drops it when its process
// stops refreshing, one TTL later.
func TestRegisterAndDiscover(t *testing.T) {
	inner, fake := newMemory(t)
	server := newFlaky(inner) // the neutron server's connection to the NB DB
	sreg := register(t, server, info("server", "tcp://192.0.2.1:8866"), discovery.WithClock(fake))
	creg := register(t, inner, discovery.PublisherInfo{ID: "ctl", Role: lc, URI: "tcp://192.0.2.2:8867"},
		discovery.WithClock(fake))
	target := newTarget(t)
	discover(t, inner, target, []string{ns, lc}, discovery.WithExcludeID(creg.Info().ID), discovery.WithClock(fake))
	assert.Equal(t, []string{"server tcp://192.0.2.1:8866 neutron-server"}, target.state())
	settle(t, fake, 4)

	server.down.Store(true) // the server process freezes
	for range 29 {
		fake.Advance(time.Second)
		settle(t, fake, 4)
	}
	assert.Len(t, target.state(), 1)
	fake.Advance(time.Second)
	target.eventually(t)
	assert.True(t, exists(t, inner, "ctl"), "the controller kept its own row alive")
	server.down.Store(false)
	require.NoError(t, sreg.Close(), "its lease is gone already: nothing to revoke")
}
