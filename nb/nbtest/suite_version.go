package nbtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	register("RevisionsIncrease", testRevisionsIncrease)
	register("CompareAndSwap", testCompareAndSwap)
}

func testRevisionsIncrease(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	start := revision(t, ctx, d)
	revs := []int64{
		create(t, ctx, d, tableA, "k1", "v1"),
		create(t, ctx, d, tableB, "k1", "v1"), // the counter is store-wide
		update(t, ctx, d, tableA, "k1", "v2", 0),
		put(t, ctx, d, tableA, "k2", "v1"),
		put(t, ctx, d, tableA, "k2", "v2"),
	}
	prev := start
	for i, rev := range revs {
		require.Greater(t, rev, prev, "write %d", i)
		prev = rev
	}
	require.NoError(t, d.Delete(ctx, tableB, "k1", 0))
	afterDelete := revision(t, ctx, d)
	require.Greater(t, afterDelete, prev, "a delete is a write")
	last := create(t, ctx, d, tableB, "k9", "v")
	require.Greater(t, last, afterDelete)
	require.Equal(t, revs[2], get(t, ctx, d, tableA, "k1").ModRevision)
	require.Equal(t, revs[4], get(t, ctx, d, tableA, "k2").ModRevision)
	require.GreaterOrEqual(t, revision(t, ctx, d), last)
}

func testCompareAndSwap(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	created := create(t, ctx, d, tableA, "k1", "v1")
	current := update(t, ctx, d, tableA, "k1", "v2", created)
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v2", created, current)

	_, err := d.Update(ctx, tableA, "k1", []byte("stale"), created)
	require.ErrorIs(t, err, nb.ErrVersionConflict)
	require.ErrorIs(t, d.Delete(ctx, tableA, "k1", created), nb.ErrVersionConflict)
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v2", created, current)

	next := update(t, ctx, d, tableA, "k1", "v3", current)
	require.Greater(t, next, current)
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v3", created, next)

	require.ErrorIs(t, d.Delete(ctx, tableA, "k1", current), nb.ErrVersionConflict)
	require.NoError(t, d.Delete(ctx, tableA, "k1", next))
	requireMissing(t, ctx, d, tableA, "k1")
}
