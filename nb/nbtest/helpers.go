package nbtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

const (
	tableA = "lport"
	// tableB has tableA's name as a prefix, to catch drivers that match
	// "/lport" instead of "/lport/".
	tableB = "lport-ext"

	// waitTimeout bounds every wait for a watch response.
	waitTimeout = 10 * time.Second
	// caseTimeout bounds each case's context.
	caseTimeout = 60 * time.Second
	// leaseTTL is for cases that wait for expiry: short, yet long enough
	// that etcd does not raise it to its minimum.
	leaseTTL = 2 * time.Second
	// longTTL is for cases that must not see expiry, even on a loaded machine.
	longTTL = time.Minute
	// expirySlack is how long after the TTL a real-time driver may take to
	// delete a lease's rows (etcd checks expiry every 500 ms).
	expirySlack = 5 * time.Second
)

func caseCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
	t.Cleanup(cancel)
	return ctx
}

func revision(t *testing.T, ctx context.Context, d nb.Driver) int64 {
	t.Helper()
	rev, err := d.Revision(ctx)
	require.NoError(t, err)
	return rev
}

func get(t *testing.T, ctx context.Context, d nb.Driver, table, key string) nb.KV {
	t.Helper()
	kv, err := d.Get(ctx, table, key)
	require.NoError(t, err, "get %s/%s", table, key)
	return kv
}

func requireMissing(t *testing.T, ctx context.Context, d nb.Driver, table, key string) {
	t.Helper()
	_, err := d.Get(ctx, table, key)
	require.ErrorIs(t, err, nb.ErrNotFound, "get %s/%s", table, key)
}

func create(t *testing.T, ctx context.Context, d nb.Driver, table, key, value string, opts ...nb.PutOption) int64 {
	t.Helper()
	rev, err := d.Create(ctx, table, key, []byte(value), opts...)
	require.NoError(t, err, "create %s/%s", table, key)
	return rev
}

func update(t *testing.T, ctx context.Context, d nb.Driver, table, key, value string, expectRev int64) int64 {
	t.Helper()
	rev, err := d.Update(ctx, table, key, []byte(value), expectRev)
	require.NoError(t, err, "update %s/%s", table, key)
	return rev
}

func put(t *testing.T, ctx context.Context, d nb.Driver, table, key, value string, opts ...nb.PutOption) int64 {
	t.Helper()
	rev, err := d.Put(ctx, table, key, []byte(value), opts...)
	require.NoError(t, err, "put %s/%s", table, key)
	return rev
}

// requireRow checks a row's value and revisions.
func requireRow(t *testing.T, kv nb.KV, table, key, value string, createRev, modRev int64) {
	t.Helper()
	require.Equal(t, table, kv.Table)
	require.Equal(t, key, kv.Key)
	require.Equal(t, value, string(kv.Value), "value of %s/%s", table, key)
	require.Equal(t, createRev, kv.CreateRevision, "CreateRevision of %s/%s", table, key)
	require.Equal(t, modRev, kv.ModRevision, "ModRevision of %s/%s", table, key)
}

// awaitGone waits until table/key is deleted by lease expiry: on a fake
// clock by advancing past the TTL, on real time by polling.
func awaitGone(t *testing.T, ctx context.Context, h Harness, table, key string) {
	t.Helper()
	if h.Advance != nil {
		h.Advance(leaseTTL + time.Second)
		requireMissing(t, ctx, h.Driver, table, key)
		return
	}
	require.Eventually(t, func() bool {
		_, err := h.Driver.Get(ctx, table, key)
		return errors.Is(err, nb.ErrNotFound)
	}, leaseTTL+expirySlack, 50*time.Millisecond, "%s/%s not deleted by lease expiry", table, key)
}
