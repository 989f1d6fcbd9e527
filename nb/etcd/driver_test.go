package etcd_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/internal/etcdtest"
	"github.com/dragonflow-go/dragonflow/internal/zapslog/zapslogtest"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

func TestRegistered(t *testing.T) {
	assert.Contains(t, nb.Drivers(), "etcd")
}

func TestRowErrors(t *testing.T) {
	d := fresh(t)
	c := ctx(t)

	_, err := d.Get(c, "lport", "p1")
	require.ErrorIs(t, err, nb.ErrNotFound)
	assert.ErrorContains(t, err, "/lport/p1")

	rev := mustRev(t)(d.Create(c, "lport", "p1", []byte(`{"id":"p1"}`)))
	_, err = d.Create(c, "lport", "p1", []byte(`{}`))
	require.ErrorIs(t, err, nb.ErrExists)

	_, err = d.Update(c, "lport", "p1", []byte(`{}`), rev+100)
	require.ErrorIs(t, err, nb.ErrVersionConflict)
	_, err = d.Update(c, "lport", "nope", []byte(`{}`), 0)
	require.ErrorIs(t, err, nb.ErrNotFound)
	_, err = d.Update(c, "lport", "nope", []byte(`{}`), rev)
	require.ErrorIs(t, err, nb.ErrNotFound, "absent beats a revision mismatch")
	rev2 := mustRev(t)(d.Update(c, "lport", "p1", []byte(`{"v":2}`), rev))
	assert.Greater(t, rev2, rev)

	require.ErrorIs(t, d.Delete(c, "lport", "p1", rev), nb.ErrVersionConflict)
	require.ErrorIs(t, d.Delete(c, "lport", "nope", 0), nb.ErrNotFound)
	require.ErrorIs(t, d.Delete(c, "lport", "nope", rev), nb.ErrNotFound)
	require.NoError(t, d.Delete(c, "lport", "p1", rev2))
	_, err = d.Get(c, "lport", "p1")
	require.ErrorIs(t, err, nb.ErrNotFound)

	for _, bad := range []string{"", "a/b"} {
		_, err = d.Put(c, bad, "k", nil)
		assert.ErrorContains(t, err, "invalid table name")
		_, _, err = d.List(c, bad, "")
		assert.ErrorContains(t, err, "invalid table name")
	}
}

func TestLeaseErrors(t *testing.T) {
	d := fresh(t)
	c := ctx(t)

	id, err := d.Grant(c, 100*time.Millisecond) // rounds up to 1 s
	require.NoError(t, err)
	require.NoError(t, d.KeepAlive(c, id))
	_, err = d.Put(c, "publisher", "p", []byte(`{}`), nb.WithLease(id))
	require.NoError(t, err)
	got, err := d.Get(c, "publisher", "p")
	require.NoError(t, err)
	assert.Equal(t, id, got.Lease)

	require.NoError(t, d.Revoke(c, id))
	_, err = d.Get(c, "publisher", "p")
	require.ErrorIs(t, err, nb.ErrNotFound, "revoke deletes the lease's rows")

	err = d.KeepAlive(c, id)
	require.ErrorIs(t, err, nb.ErrLeaseExpired)
	assert.ErrorIs(t, err, rpctypes.ErrLeaseNotFound, "the etcd error stays in the chain")
	require.ErrorIs(t, d.Revoke(c, id), nb.ErrLeaseExpired)
	_, err = d.Put(c, "publisher", "p", []byte(`{}`), nb.WithLease(id))
	require.ErrorIs(t, err, nb.ErrLeaseExpired)
	_, err = d.Create(c, "publisher", "p", []byte(`{}`), nb.WithLease(id))
	require.ErrorIs(t, err, nb.ErrLeaseExpired)
}

func TestCompactErrors(t *testing.T) {
	d := fresh(t)
	c := ctx(t)

	first := mustRev(t)(d.Put(c, "chassis", "c1", []byte("1")))
	mustRev(t)(d.Put(c, "chassis", "c1", []byte("2")))
	last := mustRev(t)(d.Put(c, "chassis", "c1", []byte("3")))
	require.NoError(t, d.Compact(c, last))
	require.ErrorIs(t, d.Compact(c, first), nb.ErrCompacted)
	assert.Error(t, d.Compact(c, last+100), "a future revision")

	r, ok := next(t, d.Watch(c, "chassis", first))
	require.True(t, ok)
	require.ErrorIs(t, r.Err, nb.ErrCompacted)
	assert.Equal(t, last, r.CompactRevision)
	_, ok = next(t, d.Watch(c, "chassis", first))
	require.True(t, ok, "each watch gets its own error")

	// Watching from the compact revision itself still works: etcd keeps
	// the last version of each key at that revision.
	ch := d.Watch(c, "chassis", last)
	r, ok = next(t, ch)
	require.True(t, ok)
	require.NoError(t, r.Err)
	require.Len(t, r.Events, 1)
	assert.Equal(t, "3", string(r.Events[0].KV.Value))
}

func TestTablesSkipsPubsubAndStrayKeys(t *testing.T) {
	srv := etcdtest.Start(t, embedded.Config{})
	d := newDriver(t, srv.Endpoints()...)
	c := ctx(t)
	for _, tk := range [][2]string{{"lport", "p1"}, {"lport", "p2"}, {"a-b", "x"}, {"a", "x"}, {"chassis", "c/1"}} {
		mustRev(t)(d.Put(c, tk[0], tk[1], []byte("{}")))
	}
	for _, k := range []string{"/pubsub/D", "/pubsub/tenant1", "/stray", "noslash/x", "//empty-table"} {
		_, err := d.Client().Put(c, k, "v")
		require.NoError(t, err)
	}
	tables, err := d.Tables(c)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "a-b", "chassis", "lport"}, tables)

	kvs, _, err := d.List(c, "chassis", "")
	require.NoError(t, err)
	require.Len(t, kvs, 1)
	assert.Equal(t, "c/1", kvs[0].Key, "keys may contain '/'")
}

func TestListByTopic(t *testing.T) {
	d := fresh(t)
	c := ctx(t)
	rows := map[string]string{
		"a": `{"id":"a","topic":"t1"}`,
		"b": `{"topic":"t2","id":"b"}`,
		"c": `{"id":"c","nested":{"topic":"t1"}}`,
		"d": `{"id":"d","topic":1}`,
		"e": `not json`,
		"f": `{"id":"f","topic":"t1","extra":[1,2,{"x":null}]}`,
	}
	for k, v := range rows {
		mustRev(t)(d.Put(c, "lswitch", k, []byte(v)))
	}
	mustRev(t)(d.Put(c, "lswitch2", "z", []byte(`{"topic":"t1"}`)))

	keys := func(topic string) []string {
		kvs, rev, err := d.List(c, "lswitch", topic)
		require.NoError(t, err)
		assert.Positive(t, rev)
		var out []string
		for _, kv := range kvs {
			assert.Equal(t, "lswitch", kv.Table)
			out = append(out, kv.Key)
		}
		return out
	}
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, keys(""))
	assert.Equal(t, []string{"a", "f"}, keys("t1"))
	assert.Equal(t, []string{"b"}, keys("t2"))
	assert.Empty(t, keys("t3"))
}

func TestUnixSocketEndpoints(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "nb.sock")
	etcdtest.Start(t, embedded.Config{DataDir: filepath.Join(dir, "data"), ClientSocket: sock})
	t.Chdir(dir)
	for _, host := range []string{"unix://" + sock, "unix://nb.sock"} {
		t.Run(host, func(t *testing.T) {
			d, err := nb.Open(t.Context(), "etcd", nb.Config{Hosts: []string{host}})
			require.NoError(t, err)
			defer func() { require.NoError(t, d.Close()) }()
			_, err = d.Put(ctx(t), "chassis", "c1", []byte(host))
			require.NoError(t, err)
		})
	}
}

func TestNewFailsFastWhenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	began := time.Now()
	_, err = etcd.New(t.Context(), etcd.Options{Endpoints: []string{addr}, DialTimeout: 200 * time.Millisecond})
	require.Error(t, err)
	assert.Less(t, time.Since(began), 2*time.Second)

	_, err = etcd.New(t.Context(), etcd.Options{})
	require.Error(t, err)
}

func TestCloseIsIdempotentAndFailsLaterCalls(t *testing.T) {
	d := fresh(t)
	c := ctx(t)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close())

	_, err := d.Get(c, "t", "k")
	require.ErrorIs(t, err, nb.ErrClosed)
	_, err = d.Put(c, "t", "k", nil)
	require.ErrorIs(t, err, nb.ErrClosed)
	_, _, err = d.List(c, "t", "")
	require.ErrorIs(t, err, nb.ErrClosed)
	_, err = d.Tables(c)
	require.ErrorIs(t, err, nb.ErrClosed)
	_, err = d.Grant(c, time.Second)
	require.ErrorIs(t, err, nb.ErrClosed)
	_, err = d.Revision(c)
	require.ErrorIs(t, err, nb.ErrClosed)

	ch := d.Watch(c, "t", 0)
	r, ok := next(t, ch)
	require.True(t, ok)
	require.ErrorIs(t, r.Err, nb.ErrClosed)
	_, ok = next(t, ch)
	require.False(t, ok, "closed after the ErrClosed response")
}

func TestNewFromClientLeavesClientOpen(t *testing.T) {
	srv := etcdtest.Start(t, embedded.Config{})
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer cli.Close()

	d := etcd.NewFromClient(cli, nil)
	ch := d.Watch(ctx(t), "t", 0)
	require.NoError(t, d.Close())
	r, ok := next(t, ch)
	require.True(t, ok)
	require.ErrorIs(t, r.Err, nb.ErrClosed)

	_, err = cli.Put(ctx(t), "/t/k", "still open")
	require.NoError(t, err)
}

func TestClientLogsQuietly(t *testing.T) {
	srv := etcdtest.Start(t, embedded.Config{})
	rec := zapslogtest.NewRecorder(slog.LevelDebug)
	d, err := etcd.New(t.Context(), etcd.Options{Endpoints: srv.Endpoints(), Logger: rec.Logger()})
	require.NoError(t, err)
	c := ctx(t)
	ch := d.Watch(c, "t", 0)
	rev := mustRev(t)(d.Put(c, "t", "k", []byte("v")))
	r, _ := next(t, ch)
	require.NoError(t, r.Err)

	// Errors the driver returns are not logged again as warnings.
	id, err := d.Grant(c, time.Second)
	require.NoError(t, err)
	require.NoError(t, d.Revoke(c, id))
	require.ErrorIs(t, d.Revoke(c, id), nb.ErrLeaseExpired)
	require.NoError(t, d.Compact(c, rev))
	require.ErrorIs(t, d.Compact(c, rev), nb.ErrCompacted)
	canceled, cancel := context.WithCancel(c)
	cancel()
	_, err = d.Get(canceled, "t", "k")
	require.ErrorIs(t, err, context.Canceled)
	for r := range d.Watch(canceled, "t", 0) {
		t.Errorf("a watch with a canceled context sent %+v", r)
	}

	require.NoError(t, d.Close())
	assert.Empty(t, rec.AtLeast(slog.LevelWarn))
}
