package nbtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	register("WatchOrder", testWatchOrder)
	register("WatchReplay", testWatchReplay)
	register("WatchFromNow", testWatchFromNow)
	register("WatchCancel", testWatchCancel)
	register("WatchCompacted", testWatchCompacted)
}

// step is one write of a scripted history and the event it must produce.
type step struct {
	typ     nb.EventType
	key     string
	value   string // for a delete: the last value
	rev     int64  // 0 for deletes (Delete returns no revision)
	created bool
}

// writeHistory writes a fixed mix of changes to tableA, with one to tableB
// in between, and returns the events a watch of tableA must see.
func writeHistory(t *testing.T, ctx context.Context, d nb.Driver) []step {
	t.Helper()
	r1 := create(t, ctx, d, tableA, "a", "v1")
	create(t, ctx, d, tableB, "a", "other table")
	r2 := update(t, ctx, d, tableA, "a", "v2", r1)
	r3 := put(t, ctx, d, tableA, "b", "v1")
	require.NoError(t, d.Delete(ctx, tableA, "a", 0))
	r5 := put(t, ctx, d, tableA, "b", "v2")
	return []step{
		{nb.EventPut, "a", "v1", r1, true},
		{nb.EventPut, "a", "v2", r2, false},
		{nb.EventPut, "b", "v1", r3, true},
		{nb.EventDelete, "a", "v2", 0, false},
		{nb.EventPut, "b", "v2", r5, false},
	}
}

// requireHistory reads len(want) events and checks them against want, and
// that each is at a new revision.
func requireHistory(t *testing.T, s *stream, want []step) {
	t.Helper()
	prev := int64(0)
	for i, w := range want {
		ev := s.next()
		if w.typ == nb.EventDelete {
			requireDelete(t, ev, w.key, w.value)
		} else {
			requirePut(t, ev, w.key, w.value, w.rev, w.created)
		}
		require.Greater(t, ev.KV.ModRevision, prev, "event %d: each write has its own revision", i)
		prev = ev.KV.ModRevision
	}
}

// requireSentinel writes a row to tableA and checks it is the next event
// of every stream: nothing else was pending.
func requireSentinel(t *testing.T, ctx context.Context, d nb.Driver, streams ...*stream) {
	t.Helper()
	rev := create(t, ctx, d, tableA, "sentinel", "s")
	for _, s := range streams {
		requirePut(t, s.next(), "sentinel", "s", rev, true)
	}
}

func testWatchOrder(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	from := revision(t, ctx, d) + 1
	s := watch(t, ctx, d, tableA, from)
	other := watch(t, ctx, d, tableB, from)
	want := writeHistory(t, ctx, d)
	requireHistory(t, s, want)
	requireSentinel(t, ctx, d, s)

	ev := other.next()
	require.Equal(t, "a", ev.KV.Key)
	require.Equal(t, "other table", string(ev.KV.Value))
	require.Greater(t, ev.KV.ModRevision, want[0].rev)
	require.Less(t, ev.KV.ModRevision, want[1].rev)
}

func testWatchReplay(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	from := revision(t, ctx, d) + 1
	want := writeHistory(t, ctx, d)
	all := watch(t, ctx, d, tableA, from)
	requireHistory(t, all, want)
	fromThird := watch(t, ctx, d, tableA, want[2].rev)
	requireHistory(t, fromThird, want[2:])
	requireSentinel(t, ctx, d, all, fromThird)
}

func testWatchFromNow(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	create(t, ctx, d, tableA, "before", "v")
	s := watch(t, ctx, d, tableA, 0)
	// No waiting: fromRev 0 means every change after Watch returns.
	rev := create(t, ctx, d, tableA, "after", "v")
	requirePut(t, s.next(), "after", "v", rev, true)
}

func testWatchCancel(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := watch(t, wctx, d, tableA, revision(t, ctx, d)+1)
	rev := create(t, ctx, d, tableA, "k1", "v")
	requirePut(t, s.next(), "k1", "v", rev, true)
	cancel()
	create(t, ctx, d, tableA, "k2", "v") // may or may not be delivered
	s.requireEnd(nil)
}

func testWatchCompacted(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	create(t, ctx, d, tableA, "a", "v1")
	update(t, ctx, d, tableA, "a", "v2", 0)
	rev := put(t, ctx, d, tableA, "b", "v1")
	require.NoError(t, d.Compact(ctx, rev))

	s := watch(t, ctx, d, tableA, 1)
	resp, ok := s.recv()
	require.True(t, ok, "channel closed without an error response")
	require.ErrorIs(t, resp.Err, nb.ErrCompacted)
	require.Empty(t, resp.Events)
	require.Positive(t, resp.CompactRevision)
	require.LessOrEqual(t, resp.CompactRevision, rev)
	_, ok = s.recv()
	require.False(t, ok, "channel not closed after the compaction error")

	// History at the compaction revision itself is kept.
	atRev := watch(t, ctx, d, tableA, rev)
	requirePut(t, atRev.next(), "b", "v1", rev, true)
}
