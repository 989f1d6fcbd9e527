package nbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	register("Close", testClose)
}

func testClose(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	id := grant(t, ctx, d, longTTL)
	rev := create(t, ctx, d, tableA, "k1", "v")
	open := watch(t, ctx, d, tableA, rev+1)

	require.NoError(t, d.Close())
	open.requireEnd(nb.ErrClosed)
	require.NoError(t, d.Close(), "Close is idempotent")

	closed := func(op string, err error) {
		t.Helper()
		require.ErrorIs(t, err, nb.ErrClosed, op)
	}
	_, err := d.Get(ctx, tableA, "k1")
	closed("get", err)
	_, _, err = d.List(ctx, tableA, "")
	closed("list", err)
	_, err = d.Tables(ctx)
	closed("tables", err)
	_, err = d.Create(ctx, tableA, "k2", []byte("v"))
	closed("create", err)
	_, err = d.Update(ctx, tableA, "k1", []byte("v"), 0)
	closed("update", err)
	_, err = d.Put(ctx, tableA, "k1", []byte("v"))
	closed("put", err)
	closed("delete", d.Delete(ctx, tableA, "k1", 0))
	_, err = d.Grant(ctx, time.Second)
	closed("grant", err)
	closed("keepalive", d.KeepAlive(ctx, id))
	closed("revoke", d.Revoke(ctx, id))
	closed("compact", d.Compact(ctx, rev))
	_, err = d.Revision(ctx)
	closed("revision", err)
	watch(t, ctx, d, tableA, 0).requireEnd(nb.ErrClosed)
}
