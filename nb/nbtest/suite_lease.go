package nbtest

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	register("LeaseExpiry", testLeaseExpiry)
	register("LeaseKeepAlive", testLeaseKeepAlive)
	register("LeaseRevoke", testLeaseRevoke)
	register("LeaseReattach", testLeaseReattach)
	register("LeaseTTLRounding", testLeaseTTLRounding)
}

func grant(t *testing.T, ctx context.Context, d nb.Driver, ttl time.Duration) nb.LeaseID {
	t.Helper()
	id, err := d.Grant(ctx, ttl)
	require.NoError(t, err)
	require.NotZero(t, id)
	return id
}

// requireLeaseGone checks every lease operation fails with ErrLeaseExpired.
func requireLeaseGone(t *testing.T, ctx context.Context, d nb.Driver, id nb.LeaseID) {
	t.Helper()
	require.ErrorIs(t, d.KeepAlive(ctx, id), nb.ErrLeaseExpired, "keepalive")
	require.ErrorIs(t, d.Revoke(ctx, id), nb.ErrLeaseExpired, "revoke")
	_, err := d.Create(ctx, tableA, "late", []byte("v"), nb.WithLease(id))
	require.ErrorIs(t, err, nb.ErrLeaseExpired, "create with the lease")
	requireMissing(t, ctx, d, tableA, "late")
}

// requireLeaseDeletes reads the delete events of a lease's rows, after
// revision after; key order within the revision is not specified.
func requireLeaseDeletes(t *testing.T, s *stream, after int64, values map[string]string) {
	t.Helper()
	evs := s.take(len(values))
	sort.Slice(evs, func(i, j int) bool { return evs[i].KV.Key < evs[j].KV.Key })
	got := make([]string, 0, len(evs))
	for _, ev := range evs {
		requireDelete(t, ev, ev.KV.Key, values[ev.KV.Key])
		require.Greater(t, ev.KV.ModRevision, after)
		got = append(got, ev.KV.Key)
	}
	want := make([]string, 0, len(values))
	for k := range values {
		want = append(want, k)
	}
	sort.Strings(want)
	require.Equal(t, want, got)
}

func testLeaseExpiry(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	id := grant(t, ctx, d, leaseTTL)
	s := watch(t, ctx, d, tableA, revision(t, ctx, d)+1)
	r1 := create(t, ctx, d, tableA, "k1", "v1", nb.WithLease(id))
	r2 := put(t, ctx, d, tableA, "k2", "v2", nb.WithLease(id))
	r3 := create(t, ctx, d, tableA, "keep", "v3")
	require.Equal(t, id, get(t, ctx, d, tableA, "k1").Lease)
	require.Equal(t, id, get(t, ctx, d, tableA, "k2").Lease)
	requirePut(t, s.next(), "k1", "v1", r1, true)
	requirePut(t, s.next(), "k2", "v2", r2, true)
	requirePut(t, s.next(), "keep", "v3", r3, true)

	if h.Advance != nil {
		h.Advance(leaseTTL - 100*time.Millisecond)
		get(t, ctx, d, tableA, "k1") // not expired yet
	}
	awaitGone(t, ctx, h, tableA, "k1")
	requireMissing(t, ctx, d, tableA, "k2")
	get(t, ctx, d, tableA, "keep")
	requireLeaseDeletes(t, s, r3, map[string]string{"k1": "v1", "k2": "v2"})
	requireLeaseGone(t, ctx, d, id)
}

func testLeaseKeepAlive(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	kept := grant(t, ctx, d, leaseTTL)
	lapsed := grant(t, ctx, d, leaseTTL)
	create(t, ctx, d, tableA, "kept", "v", nb.WithLease(kept))
	create(t, ctx, d, tableA, "lapsed", "v", nb.WithLease(lapsed))

	step := leaseTTL * 2 / 3
	elapse := func() {
		if h.Advance != nil {
			h.Advance(step)
			return
		}
		// Real time must pass here and there is nothing to poll for: the
		// point is that the row is still present afterwards.
		time.Sleep(step)
	}
	elapse()
	require.NoError(t, d.KeepAlive(ctx, kept))
	elapse() // 4/3 TTL after Grant, 2/3 TTL after KeepAlive
	get(t, ctx, d, tableA, "kept")

	if h.Advance != nil {
		requireMissing(t, ctx, d, tableA, "lapsed")
		h.Advance(step) // 4/3 TTL after KeepAlive
		requireMissing(t, ctx, d, tableA, "kept")
		return
	}
	// Both leases were granted together, so while "lapsed" expires, "kept"
	// would too if KeepAlive did nothing; keep it alive while polling.
	require.Eventually(t, func() bool {
		if d.KeepAlive(ctx, kept) != nil {
			return true // reported below
		}
		_, err := d.Get(ctx, tableA, "lapsed")
		return errors.Is(err, nb.ErrNotFound)
	}, leaseTTL+expirySlack, 50*time.Millisecond, "lease without KeepAlive did not expire")
	require.NoError(t, d.KeepAlive(ctx, kept))
	get(t, ctx, d, tableA, "kept")
}

func testLeaseRevoke(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	id := grant(t, ctx, d, longTTL)
	s := watch(t, ctx, d, tableA, revision(t, ctx, d)+1)
	create(t, ctx, d, tableA, "k1", "v1", nb.WithLease(id))
	create(t, ctx, d, tableA, "k2", "v2", nb.WithLease(id))
	r3 := create(t, ctx, d, tableA, "keep", "v3")
	s.take(3)

	require.NoError(t, d.Revoke(ctx, id))
	requireMissing(t, ctx, d, tableA, "k1")
	requireMissing(t, ctx, d, tableA, "k2")
	get(t, ctx, d, tableA, "keep")
	requireLeaseDeletes(t, s, r3, map[string]string{"k1": "v1", "k2": "v2"})
	requireLeaseGone(t, ctx, d, id)
}

// testLeaseReattach: as in etcd, a write without WithLease detaches the row
// from its lease, and a write WithLease attaches an existing row.
func testLeaseReattach(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	id := grant(t, ctx, d, longTTL)
	create(t, ctx, d, tableA, "detached", "v1", nb.WithLease(id))
	put(t, ctx, d, tableA, "detached", "v2")
	require.Zero(t, get(t, ctx, d, tableA, "detached").Lease)

	create(t, ctx, d, tableA, "attached", "v1")
	_, err := d.Update(ctx, tableA, "attached", []byte("v2"), 0, nb.WithLease(id))
	require.NoError(t, err)
	require.Equal(t, id, get(t, ctx, d, tableA, "attached").Lease)

	require.NoError(t, d.Revoke(ctx, id))
	get(t, ctx, d, tableA, "detached")
	requireMissing(t, ctx, d, tableA, "attached")
}

// testLeaseTTLRounding checks TTLs are rounded up to whole seconds, at
// least 1 s. Only a fake clock is exact enough (and etcd raises short TTLs
// to its own minimum).
func testLeaseTTLRounding(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	create(t, ctx, d, tableA, "two", "v", nb.WithLease(grant(t, ctx, d, 1500*time.Millisecond)))
	create(t, ctx, d, tableA, "one", "v", nb.WithLease(grant(t, ctx, d, 0)))
	if h.Advance == nil {
		// Real time cannot check the exact rounding (etcd also raises short
		// TTLs to its own minimum); it can check that a zero or sub-second
		// TTL gives a live lease rather than an error or an instant expiry.
		get(t, ctx, d, tableA, "one")
		get(t, ctx, d, tableA, "two")
		return
	}
	h.Advance(999 * time.Millisecond)
	get(t, ctx, d, tableA, "one")
	h.Advance(2 * time.Millisecond)
	requireMissing(t, ctx, d, tableA, "one")
	h.Advance(998 * time.Millisecond)
	get(t, ctx, d, tableA, "two")
	h.Advance(2 * time.Millisecond)
	requireMissing(t, ctx, d, tableA, "two")
}
