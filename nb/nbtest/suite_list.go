package nbtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	register("ListSorted", testListSorted)
	register("ListByTopic", testListByTopic)
	register("Tables", testTables)
}

func list(t *testing.T, ctx context.Context, d nb.Driver, table, topic string) ([]nb.KV, int64) {
	t.Helper()
	kvs, rev, err := d.List(ctx, table, topic)
	require.NoError(t, err, "list %s topic %q", table, topic)
	return kvs, rev
}

func keys(kvs []nb.KV) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Key
	}
	return out
}

func testListSorted(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	kvs, rev := list(t, ctx, d, tableA, "")
	require.Empty(t, kvs)
	require.Positive(t, rev)

	revs := map[string]int64{}
	for _, k := range []string{"m", "b", "z", "a", "b2"} {
		revs[k] = create(t, ctx, d, tableA, k, "v-"+k)
	}
	revs["m"] = update(t, ctx, d, tableA, "m", "v-m2", 0)
	create(t, ctx, d, tableB, "c", "other table")

	kvs, rev = list(t, ctx, d, tableA, "")
	require.Equal(t, []string{"a", "b", "b2", "m", "z"}, keys(kvs))
	for _, kv := range kvs {
		want := "v-" + kv.Key
		if kv.Key == "m" {
			want = "v-m2"
		}
		require.Equal(t, tableA, kv.Table)
		require.Equal(t, want, string(kv.Value))
		require.Equal(t, revs[kv.Key], kv.ModRevision, "ModRevision of %s", kv.Key)
		require.LessOrEqual(t, kv.ModRevision, rev, "a row is newer than its list's revision")
	}
	require.GreaterOrEqual(t, rev, revs["m"]+1, "list revision predates the last write")
}

func testListByTopic(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	rows := map[string]string{
		"a": `{"topic":"t1","id":"a"}`,
		"b": `{"id":"b","topic":"t2"}`,
		"c": `{"topic":"t1"}`,
		"d": `{"id":"d"}`,                // no topic
		"e": `not json`,                  // no topic
		"f": `{"topic":5}`,               // not a string: no topic
		"g": `{"nested":{"topic":"t1"}}`, // not top-level: no topic
		"h": `{"topic":"t1x","id":"h"}`,  // a different topic
		"i": `["topic","t1"]`,            // not an object
		"j": `{"id":"j","topic":"t2","x":1}`,
	}
	for k, v := range rows {
		create(t, ctx, d, tableA, k, v)
	}
	create(t, ctx, d, tableB, "a", `{"topic":"t1"}`)

	for topic, want := range map[string][]string{
		"t1": {"a", "c"},
		"t2": {"b", "j"},
		"t3": {},
		"":   {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
	} {
		kvs, _ := list(t, ctx, d, tableA, topic)
		require.Equal(t, want, keys(kvs), "topic %q", topic)
		for _, kv := range kvs {
			require.Equal(t, rows[kv.Key], string(kv.Value))
		}
	}
}

func testTables(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	tables := func() []string {
		t.Helper()
		names, err := d.Tables(ctx)
		require.NoError(t, err)
		return names
	}
	require.Empty(t, tables())
	create(t, ctx, d, tableB, "k1", "v")
	create(t, ctx, d, tableA, "k1", "v")
	create(t, ctx, d, tableA, "k2", "v")
	require.Equal(t, []string{tableA, tableB}, tables())
	require.NoError(t, d.Delete(ctx, tableB, "k1", 0))
	require.Equal(t, []string{tableA}, tables(), "a table without rows is not listed")
}
