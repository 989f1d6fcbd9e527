package discovery_test

import (
	"context"
	"encoding/json"
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

// register registers p with a 30 s TTL (memory: exactly 30 s), a 10 s
// refresh and a 60 s timestamp refresh on the fake clock, closed at
// cleanup.
func register(t *testing.T, db nb.Driver, p discovery.PublisherInfo, opts ...discovery.Option) *discovery.Registration {
	t.Helper()
	opts = append([]discovery.Option{
		discovery.WithTTL(30 * time.Second), discovery.WithRefresh(10 * time.Second),
		discovery.WithTimestampRefresh(60 * time.Second), discovery.WithLogger(testLogger(t)),
	}, opts...)
	reg, err := discovery.Register(t.Context(), db, p, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}

func TestRegisterWritesRow(t *testing.T) {
	db, fake := newMemory(t)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake))

	_, kv, ok := row(t, db, "pub-1")
	require.True(t, ok)
	assert.Equal(t, reg.Lease(), kv.Lease, "the row is on the registration's lease")
	assert.NotZero(t, reg.Lease())
	var got map[string]any
	require.NoError(t, json.Unmarshal(kv.Value, &got))
	assert.Equal(t, map[string]any{
		"id": "pub-1", "role": "neutron-server", "uri": "tcp://192.0.2.1:8866", "host": "host-a",
		"pid": float64(4242), "epoch": float64(7), "last_activity_timestamp": model.UnixSeconds(start),
	}, got)
	assert.Equal(t, info("pub-1", "tcp://192.0.2.1:8866"), reg.Info())
}

func TestRegisterFillsDefaults(t *testing.T) {
	db, fake := newMemory(t)
	reg := register(t, db, discovery.PublisherInfo{ID: "p", Role: model.RoleLocalController, URI: "tcp://192.0.2.1:8867"},
		discovery.WithClock(fake))
	got := reg.Info()
	assert.NotZero(t, got.PID)
	assert.NotZero(t, got.Epoch)
	assert.NotEmpty(t, got.Host)
	p, _, ok := row(t, db, "p")
	require.True(t, ok)
	assert.Equal(t, got.Epoch, p.Epoch)
	assert.Equal(t, model.RoleLocalController, p.Role)
}

// TestRegisterKeepsRowPastManyTTLs refreshes the lease through ten TTLs of
// fake time, one refresh period at a time.
func TestRegisterKeepsRowPastManyTTLs(t *testing.T) {
	db, fake := newMemory(t)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake))
	lease := reg.Lease()
	settle(t, fake, 2) // the lease's expiry and the registration's timer
	for i := 1; i <= 30; i++ {
		fake.Advance(10 * time.Second)
		settle(t, fake, 2)
		require.True(t, exists(t, db, "pub-1"), "row gone after %d s", 10*i)
	}
	st := reg.Stats()
	assert.Equal(t, int64(30), st.KeepAlives)
	assert.Equal(t, int64(5), st.Rewrites, "a timestamp rewrite every 60 s")
	assert.Zero(t, st.Losses)
	assert.Equal(t, lease, reg.Lease())
	p, _, _ := row(t, db, "pub-1")
	assert.Equal(t, model.UnixSeconds(start.Add(300*time.Second)), p.LastActivityTimestamp)
}

func TestRegisterTimestampRefreshOff(t *testing.T) {
	db, fake := newMemory(t)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake),
		discovery.WithTimestampRefresh(0))
	_, before, _ := row(t, db, "pub-1")
	settle(t, fake, 2)
	for range 12 {
		fake.Advance(10 * time.Second)
		settle(t, fake, 2)
	}
	_, after, ok := row(t, db, "pub-1")
	require.True(t, ok)
	assert.Equal(t, before.ModRevision, after.ModRevision, "never rewritten")
	assert.Zero(t, reg.Stats().Rewrites)
}

// TestRegisterRowExpiresWhenRefreshStops: a process that can no longer
// refresh its lease (killed, frozen, cut off) loses its row exactly one TTL
// after its last refresh, with no help from anyone's wall clock. When the
// NB DB is reachable again, the registration finds its lease gone and
// registers again.
func TestRegisterRowExpiresWhenRefreshStops(t *testing.T) {
	inner, fake := newMemory(t)
	db := newFlaky(inner)
	var mu sync.Mutex
	var lost []error
	var again []nb.LeaseID
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake),
		discovery.WithRetry(time.Second, 4*time.Second),
		discovery.WithOnLost(func(err error) { mu.Lock(); lost = append(lost, err); mu.Unlock() }),
		discovery.WithOnReregistered(func(l nb.LeaseID) { mu.Lock(); again = append(again, l); mu.Unlock() }))
	old := reg.Lease()
	settle(t, fake, 2)

	db.down.Store(true)
	for range 29 {
		fake.Advance(time.Second)
	}
	require.True(t, exists(t, inner, "pub-1"), "still within the TTL of the last refresh")
	fake.Advance(time.Second)
	require.False(t, exists(t, inner, "pub-1"), "gone exactly one TTL after the last refresh")
	require.Eventually(t, func() bool { return reg.Stats().KeepAliveFailures > 0 }, wait, tick)
	assert.Zero(t, reg.Stats().Losses, "an unreachable NB DB is not a lost lease")

	db.down.Store(false)
	require.Eventually(t, func() bool {
		fake.Advance(time.Second)
		return exists(t, inner, "pub-1")
	}, wait, 10*time.Millisecond)
	require.Eventually(t, func() bool { return reg.Stats().Reregistrations == 1 }, wait, tick)
	_, kv, _ := row(t, inner, "pub-1")
	assert.NotEqual(t, old, kv.Lease)
	assert.Equal(t, reg.Lease(), kv.Lease)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, lost, 1)
	assert.ErrorIs(t, lost[0], nb.ErrLeaseExpired)
	assert.Equal(t, []nb.LeaseID{kv.Lease}, again)
	assert.False(t, reg.Stats().Lost)
}

// TestRegisterSurvivesShortOutage: keepalives that fail for less than the
// TTL are retried; the lease and the row survive.
func TestRegisterSurvivesShortOutage(t *testing.T) {
	inner, fake := newMemory(t)
	db := newFlaky(inner)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake),
		discovery.WithRetry(time.Second, 2*time.Second))
	lease := reg.Lease()
	settle(t, fake, 2)
	db.down.Store(true)
	fake.Advance(10 * time.Second) // the first keepalive fails
	require.Eventually(t, func() bool { return reg.Stats().KeepAliveFailures == 1 }, wait, tick)
	settle(t, fake, 2)
	db.down.Store(false)
	fake.Advance(2 * time.Second) // the retry, at most 2 s later
	settle(t, fake, 2)
	require.Equal(t, int64(1), reg.Stats().KeepAlives)
	for range 3 { // past the lease's expiry had the retry not refreshed it
		fake.Advance(10 * time.Second)
		settle(t, fake, 2)
	}
	assert.True(t, exists(t, inner, "pub-1"))
	assert.Equal(t, lease, reg.Lease())
	assert.Zero(t, reg.Stats().Losses)
}

// TestRegisterReregistersAfterRevoke: the lease revoked under the
// registration (as after an NB DB restart) is noticed at the next
// keepalive and replaced.
func TestRegisterReregistersAfterRevoke(t *testing.T) {
	db, fake := newMemory(t)
	relisted := make(chan nb.LeaseID, 1)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake),
		discovery.WithOnReregistered(func(l nb.LeaseID) { relisted <- l }))
	old := reg.Lease()
	settle(t, fake, 2)
	require.NoError(t, db.Revoke(t.Context(), old))
	require.False(t, exists(t, db, "pub-1"))

	fake.Advance(10 * time.Second)
	var lease nb.LeaseID
	select {
	case lease = <-relisted:
	case <-time.After(wait):
		t.Fatal("not registered again")
	}
	_, kv, ok := row(t, db, "pub-1")
	require.True(t, ok)
	assert.Equal(t, lease, kv.Lease)
	assert.NotEqual(t, old, lease)
	assert.Equal(t, lease, reg.Lease())
	st := reg.Stats()
	assert.Equal(t, int64(1), st.Losses)
	assert.Equal(t, int64(1), st.Reregistrations)

	settle(t, fake, 2)
	fake.Advance(10 * time.Second)
	settle(t, fake, 2)
	assert.Equal(t, int64(1), reg.Stats().KeepAlives, "the new lease is kept alive")
}

// TestRegisterRestoresDeletedRow: a row deleted while its lease lives (by
// hand, or by a Python peer's stale-row cleanup) is written again at the
// next timestamp refresh.
func TestRegisterRestoresDeletedRow(t *testing.T) {
	db, fake := newMemory(t)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake),
		discovery.WithTimestampRefresh(20*time.Second))
	settle(t, fake, 2)
	deleteRow(t, db, "pub-1")
	fake.Advance(10 * time.Second)
	settle(t, fake, 2)
	assert.False(t, exists(t, db, "pub-1"))
	fake.Advance(10 * time.Second)
	settle(t, fake, 2)
	_, kv, ok := row(t, db, "pub-1")
	require.True(t, ok)
	assert.Equal(t, reg.Lease(), kv.Lease)
	assert.Equal(t, int64(1), reg.Stats().Restored)
}

func TestRegisterCloseRevokes(t *testing.T) {
	db, fake := newMemory(t)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake))
	lease := reg.Lease()
	require.NoError(t, reg.Close())
	assert.False(t, exists(t, db, "pub-1"), "the row goes at once, not after the TTL")
	assert.ErrorIs(t, db.KeepAlive(t.Context(), lease), nb.ErrLeaseExpired, "lease revoked")
	select {
	case <-reg.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	assert.NoError(t, reg.Err())
	assert.Zero(t, reg.Lease())
	assert.NoError(t, reg.Close(), "idempotent")
}

func TestRegisterEndsWithContext(t *testing.T) {
	db, fake := newMemory(t)
	ctx, cancel := context.WithCancel(t.Context())
	reg, err := discovery.Register(ctx, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake))
	require.NoError(t, err)
	require.NoError(t, reg.Err(), "nil while running")
	cancel()
	select {
	case <-reg.Done():
	case <-time.After(wait):
		t.Fatal("Done not closed when ctx ended")
	}
	assert.ErrorIs(t, reg.Err(), context.Canceled)
	assert.False(t, exists(t, db, "pub-1"), "revoked on the way out")
	assert.NoError(t, reg.Close())
}

func TestRegisterStopsWhenDriverCloses(t *testing.T) {
	db, fake := newMemory(t)
	reg := register(t, db, info("pub-1", "tcp://192.0.2.1:8866"), discovery.WithClock(fake))
	settle(t, fake, 2)
	require.NoError(t, db.Close())
	fake.Advance(10 * time.Second)
	select {
	case <-reg.Done():
	case <-time.After(wait):
		t.Fatal("Done not closed after the driver closed")
	}
	assert.ErrorIs(t, reg.Err(), nb.ErrClosed)
	assert.NoError(t, reg.Close())
}

func TestRegisterFailsWhenNBDBUnreachable(t *testing.T) {
	inner, _ := newMemory(t)
	db := newFlaky(inner)
	db.down.Store(true)
	_, err := discovery.Register(t.Context(), db, info("pub-1", "tcp://192.0.2.1:8866"))
	require.ErrorIs(t, err, errUnreachable)
	assert.Contains(t, err.Error(), "pub-1")
}

func TestRegisterRejectsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mod      func(*discovery.PublisherInfo)
		wildcard bool
		contains string
	}{
		{"star", func(p *discovery.PublisherInfo) { p.URI = "tcp://*:8866" }, true, `"tcp://*:8866"`},
		{"ipv4 any", func(p *discovery.PublisherInfo) { p.URI = "tcp://0.0.0.0:8866" }, true, `"tcp://0.0.0.0:8866"`},
		{"ipv6 any", func(p *discovery.PublisherInfo) { p.URI = "tcp://[::]:8866" }, true, `"tcp://[::]:8866"`},
		{"ipv6 any no port", func(p *discovery.PublisherInfo) { p.URI = "redis://::" }, true, `"redis://::"`},
		{"empty host", func(p *discovery.PublisherInfo) { p.URI = "tcp://:8866" }, true, `"tcp://:8866"`},
		{"no port", func(p *discovery.PublisherInfo) { p.URI = "tcp://192.0.2.1" }, false, "host:port"},
		{"no scheme", func(p *discovery.PublisherInfo) { p.URI = "192.0.2.1:8866" }, false, "scheme"},
		{"no id", func(p *discovery.PublisherInfo) { p.ID = "" }, false, "NewID"},
		{"bad role", func(p *discovery.PublisherInfo) { p.Role = "publisher-service" }, false, "publisher-service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := newMemory(t)
			p := info("pub-1", "tcp://192.0.2.1:8866")
			tc.mod(&p)
			_, err := discovery.Register(t.Context(), db, p)
			require.ErrorIs(t, err, discovery.ErrInvalid)
			assert.Equal(t, tc.wildcard, errors.Is(err, discovery.ErrWildcardURI))
			assert.Contains(t, err.Error(), tc.contains)
			if tc.wildcard {
				assert.Contains(t, err.Error(), "publisher_binding_address")
				assert.Contains(t, err.Error(), "[df] management_ip")
			}
			tables, err := db.Tables(t.Context())
			require.NoError(t, err)
			assert.Empty(t, tables, "nothing written")
		})
	}
}

func TestRegisterRejectsRefreshNotShorterThanTTL(t *testing.T) {
	db, _ := newMemory(t)
	_, err := discovery.Register(t.Context(), db, info("pub-1", "tcp://192.0.2.1:8866"),
		discovery.WithTTL(10*time.Second), discovery.WithRefresh(10*time.Second))
	require.ErrorContains(t, err, "shorter than the lease TTL")
}
