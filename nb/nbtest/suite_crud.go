package nbtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	register("CreateGet", testCreateGet)
	register("CreateExisting", testCreateExisting)
	register("UpdateExisting", testUpdateExisting)
	register("Missing", testMissing)
	register("PutUpserts", testPutUpserts)
	register("Delete", testDelete)
	register("ValuesAreCopied", testValuesAreCopied)
}

func testCreateGet(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	rev := create(t, ctx, d, tableA, "k1", `{"id":"k1"}`)
	require.Positive(t, rev)
	kv := get(t, ctx, d, tableA, "k1")
	requireRow(t, kv, tableA, "k1", `{"id":"k1"}`, rev, rev)
	require.Zero(t, kv.Lease)
	require.GreaterOrEqual(t, revision(t, ctx, d), rev)
	requireMissing(t, ctx, d, tableB, "k1")
}

func testCreateExisting(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	rev := create(t, ctx, d, tableA, "k1", "v1")
	_, err := d.Create(ctx, tableA, "k1", []byte("v2"))
	require.ErrorIs(t, err, nb.ErrExists)
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v1", rev, rev)
	// The same key in another table is another row.
	create(t, ctx, d, tableB, "k1", "v3")
}

func testUpdateExisting(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	rev1 := create(t, ctx, d, tableA, "k1", "v1")
	rev2 := update(t, ctx, d, tableA, "k1", "v2", 0)
	require.Greater(t, rev2, rev1)
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v2", rev1, rev2)
}

func testMissing(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	requireMissing(t, ctx, d, tableA, "nope")
	for _, expectRev := range []int64{0, 1} {
		_, err := d.Update(ctx, tableA, "nope", []byte("v"), expectRev)
		require.ErrorIs(t, err, nb.ErrNotFound, "update with expectRev %d", expectRev)
		require.ErrorIs(t, d.Delete(ctx, tableA, "nope", expectRev), nb.ErrNotFound,
			"delete with expectRev %d", expectRev)
	}
	requireMissing(t, ctx, d, tableA, "nope") // Update did not create it
}

func testPutUpserts(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	rev1 := put(t, ctx, d, tableA, "k1", "v1")
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v1", rev1, rev1)
	rev2 := put(t, ctx, d, tableA, "k1", "v2")
	require.Greater(t, rev2, rev1)
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v2", rev1, rev2)
}

func testDelete(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	rev1 := create(t, ctx, d, tableA, "k1", "v1")
	create(t, ctx, d, tableA, "k2", "v2")
	require.NoError(t, d.Delete(ctx, tableA, "k1", 0))
	requireMissing(t, ctx, d, tableA, "k1")
	require.ErrorIs(t, d.Delete(ctx, tableA, "k1", 0), nb.ErrNotFound)
	get(t, ctx, d, tableA, "k2") // untouched

	rev3 := create(t, ctx, d, tableA, "k1", "v3")
	require.Greater(t, rev3, rev1, "a re-created row gets a new CreateRevision")
	requireRow(t, get(t, ctx, d, tableA, "k1"), tableA, "k1", "v3", rev3, rev3)
}

func testValuesAreCopied(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	value := []byte("\x00binary\xff")
	_, err := d.Create(ctx, tableA, "k1", value)
	require.NoError(t, err)
	value[0] = 'X' // the caller's slice is not the stored value
	kv := get(t, ctx, d, tableA, "k1")
	require.Equal(t, "\x00binary\xff", string(kv.Value))
	kv.Value[1] = 'X' // nor is a returned one
	require.Equal(t, "\x00binary\xff", string(get(t, ctx, d, tableA, "k1").Value))
}
