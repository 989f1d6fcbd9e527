package redis_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/redistest"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/nbtest"
	"github.com/dragonflow-go/dragonflow/nb/redis"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(redistest.ExitAfterStopShared))
}

// TestConformance runs the nb conformance suite on real time with one
// fresh redis-server per case (~15 ms to start): a fresh store starts at
// revision 1 with no leases or history left over.
func TestConformance(t *testing.T) {
	nbtest.Run(t, func(t *testing.T) nbtest.Harness {
		return nbtest.Harness{Driver: newDriver(t, redistest.Start(t, false).Addr())}
	})
}

// testLogger logs warnings and errors to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newDriver connects a driver to host and closes it at cleanup.
func newDriver(t testing.TB, host string, opts ...func(*redis.Options)) *redis.Driver {
	t.Helper()
	o := redis.Options{Hosts: []string{host}, Logger: testLogger(t)}
	for _, f := range opts {
		f(&o)
	}
	d, err := redis.New(t.Context(), o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

// ctx returns a context for one test step.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustRev(t *testing.T) func(rev int64, err error) int64 {
	return func(rev int64, err error) int64 {
		t.Helper()
		require.NoError(t, err)
		return rev
	}
}

// next receives one response from ch, failing the test after 5 s.
func next(t *testing.T, ch <-chan nb.WatchResponse) (nb.WatchResponse, bool) {
	t.Helper()
	select {
	case r, ok := <-ch:
		return r, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no watch response within 5 s")
		return nb.WatchResponse{}, false
	}
}

func TestRegistered(t *testing.T) {
	assert.Contains(t, nb.Drivers(), "redis")
	srv := redistest.Start(t, true)
	for _, host := range []string{srv.Addr(), srv.SocketURL(), "redis://" + srv.Addr() + "/0"} {
		t.Run(host, func(t *testing.T) {
			d, err := nb.Open(t.Context(), "redis", nb.Config{Hosts: []string{host}})
			require.NoError(t, err)
			defer func() { require.NoError(t, d.Close()) }()
			_, err = d.Put(ctx(t), "chassis", "c1", []byte(host))
			require.NoError(t, err)
		})
	}
}

// TestDragonflowLayout checks the rows are where Python Dragonflow's
// redis_db_driver looks for them: "{table.topic}key" with the JSON as a
// plain string, moving with the row's topic.
func TestDragonflowLayout(t *testing.T) {
	srv := redistest.Start(t, false)
	d := newDriver(t, srv.Addr())
	raw := redistest.AdminClient(srv.Addr())
	t.Cleanup(func() { _ = raw.Close() })
	c := ctx(t)
	get := func(k string) string {
		t.Helper()
		v, err := raw.Get(c, k).Result()
		require.NoError(t, err, "GET %s", k)
		return v
	}
	missing := func(k string) {
		t.Helper()
		n, err := raw.Exists(c, k).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "%s still exists", k)
	}

	pub := `{"id":"p1","uri":"tcp://10.0.0.1:8866"}`
	mustRev(t)(d.Put(c, "publisher", "p1", []byte(pub)))
	assert.Equal(t, pub, get("{publisher.}p1"))
	assert.Equal(t, "{publisher.}p1", redis.RowKey("publisher", "", "p1"))

	v1 := `{"id":"port1","topic":"tenant1"}`
	mustRev(t)(d.Create(c, "lport", "port1", []byte(v1)))
	assert.Equal(t, v1, get("{lport.tenant1}port1"))

	v2 := `{"id":"port1","topic":"tenant2"}`
	mustRev(t)(d.Update(c, "lport", "port1", []byte(v2), 0))
	assert.Equal(t, v2, get("{lport.tenant2}port1"))
	missing("{lport.tenant1}port1")

	odd := `{"id":"port2","topic":"a}b"}` // would be ambiguous in the key
	mustRev(t)(d.Put(c, "lport", "port2", []byte(odd)))
	assert.Equal(t, odd, get("{lport.}port2"))
	kvs, _, err := d.List(c, "lport", "a}b")
	require.NoError(t, err)
	require.Len(t, kvs, 1, "the index keeps the real topic")

	require.NoError(t, d.Delete(c, "lport", "port1", 0))
	missing("{lport.tenant2}port1")

	for _, bad := range []string{"", "a/b", "a.b", "a{b", "a}b"} {
		_, err := d.Put(c, bad, "k", nil)
		assert.ErrorContains(t, err, "invalid table name", "table %q", bad)
	}
}

func TestErrors(t *testing.T) {
	d := newDriver(t, redistest.Start(t, false).Addr())
	c := ctx(t)

	_, err := d.Get(c, "lport", "p1")
	require.ErrorIs(t, err, nb.ErrNotFound)
	assert.ErrorContains(t, err, "lport/p1")

	rev := mustRev(t)(d.Create(c, "lport", "p1", []byte(`{}`)))
	_, err = d.Update(c, "lport", "p1", []byte(`{}`), rev+100)
	require.ErrorIs(t, err, nb.ErrVersionConflict)
	_, err = d.Update(c, "lport", "nope", []byte(`{}`), rev)
	require.ErrorIs(t, err, nb.ErrNotFound, "absent beats a revision mismatch")

	last := mustRev(t)(d.Put(c, "lport", "p1", []byte(`{"v":2}`)))
	require.NoError(t, d.Compact(c, last))
	require.ErrorIs(t, d.Compact(c, rev), nb.ErrCompacted)
	require.ErrorIs(t, d.Compact(c, last), nb.ErrCompacted, "at the compaction revision itself")
	require.ErrorContains(t, d.Compact(c, last+100), "ahead of the store")

	id, err := d.Grant(c, time.Minute)
	require.NoError(t, err)
	_, err = d.Put(c, "lport", "p2", nil, nb.WithLease(id+1))
	require.ErrorIs(t, err, nb.ErrLeaseExpired)
	require.ErrorIs(t, d.KeepAlive(c, id+1), nb.ErrLeaseExpired)
}

// TestNotACluster: the NB DB needs a standalone server.
func TestNotACluster(t *testing.T) {
	node, err := redistest.StartConfig(redistest.Binary(t), redistest.Config{Dir: t.TempDir(), Cluster: true})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, node.Stop()) })
	_, err = redis.New(t.Context(), redis.Options{Hosts: []string{node.Addr()}})
	require.ErrorContains(t, err, "Redis Cluster")
}

func TestNewFailsFastWhenUnreachable(t *testing.T) {
	port, err := redistest.FreePort(false)
	require.NoError(t, err)
	began := time.Now()
	_, err = redis.New(t.Context(), redis.Options{Hosts: []string{"127.0.0.1:" + itoa(port)}, DialTimeout: 300 * time.Millisecond})
	require.Error(t, err)
	assert.Less(t, time.Since(began), 3*time.Second)
	_, err = redis.New(t.Context(), redis.Options{})
	require.ErrorContains(t, err, "no hosts")
	_, err = redis.New(t.Context(), redis.Options{Hosts: []string{"no-port"}})
	require.ErrorContains(t, err, "host:port")
}

// TestHistoryCap: the change log is capped; a watch that starts below what
// is left, or falls behind while the log is trimmed, ends with
// ErrCompacted, never skipping events silently.
func TestHistoryCap(t *testing.T) {
	d := newDriver(t, redistest.Start(t, false).Addr(), func(o *redis.Options) { o.History = 100 })
	c := ctx(t)
	first := mustRev(t)(d.Put(c, "chassis", "c", []byte("0")))

	// A watcher that reads nothing while 1000 writes go by.
	wctx, cancel := context.WithCancel(c)
	defer cancel()
	slow := d.Watch(wctx, "chassis", first)
	for i := 1; i <= 1000; i++ {
		mustRev(t)(d.Put(c, "chassis", "c", []byte(itoa(i))))
	}
	var got []nb.Event
	for {
		r, ok := next(t, slow)
		require.True(t, ok, "closed without an error")
		got = append(got, r.Events...)
		if r.Err != nil {
			require.ErrorIs(t, r.Err, nb.ErrCompacted)
			assert.Greater(t, r.CompactRevision, first)
			break
		}
	}
	for i, ev := range got {
		require.Equal(t, first+int64(i), ev.KV.ModRevision, "events before the error are consecutive")
	}
	assert.Less(t, len(got), 1001)

	r, ok := next(t, d.Watch(c, "chassis", first))
	require.True(t, ok)
	require.ErrorIs(t, r.Err, nb.ErrCompacted, "a new watch below the floor")
	ch := d.Watch(c, "chassis", r.CompactRevision)
	r, ok = next(t, ch)
	require.True(t, ok)
	require.NoError(t, r.Err, "from the floor itself")
	require.NotEmpty(t, r.Events)
}

// TestStoreReset: a server that restarts empty (no persistence) ends a
// watch with ErrCompacted instead of leaving it waiting for revisions that
// will never come.
func TestStoreReset(t *testing.T) {
	srv := redistest.Start(t, false)
	d := newDriver(t, srv.Addr())
	c := ctx(t)
	var rev int64
	for i := 0; i < 5; i++ {
		rev = mustRev(t)(d.Put(c, "chassis", "c", []byte(itoa(i))))
	}
	ch := d.Watch(c, "chassis", rev+1)
	require.NoError(t, srv.Restart())
	r, ok := next(t, ch)
	require.True(t, ok)
	require.Error(t, r.Err, "the watch ends")
	t.Logf("watch ended with: %v", r.Err)
}

func itoa(i int) string { return strconv.Itoa(i) }
