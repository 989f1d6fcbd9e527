package etcd_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/internal/etcdtest"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

// collect receives responses from ch until it holds n events.
func collect(t *testing.T, ch <-chan nb.WatchResponse, n int) []nb.Event {
	t.Helper()
	var evs []nb.Event
	for len(evs) < n {
		r, ok := next(t, ch)
		require.True(t, ok, "channel closed after %d of %d events", len(evs), n)
		require.NoError(t, r.Err)
		require.NotEmpty(t, r.Events)
		assert.Equal(t, r.Events[len(r.Events)-1].KV.ModRevision, r.Revision)
		evs = append(evs, r.Events...)
	}
	require.Len(t, evs, n)
	return evs
}

func TestWatchEvents(t *testing.T) {
	d := fresh(t)
	c := ctx(t)
	mustRev(t)(d.Put(c, "lport", "before", []byte("old")))
	ch := d.Watch(c, "lport", 0)

	created := mustRev(t)(d.Create(c, "lport", "p1", []byte("v1")))
	mustRev(t)(d.Put(c, "lswitch", "other-table", []byte("x")))
	updated := mustRev(t)(d.Update(c, "lport", "p1", []byte("v2"), created))
	require.NoError(t, d.Delete(c, "lport", "p1", updated))
	id, err := d.Grant(c, time.Minute)
	require.NoError(t, err)
	leased := mustRev(t)(d.Put(c, "lport", "leased", []byte("l"), nb.WithLease(id)))
	require.NoError(t, d.Revoke(c, id))

	evs := collect(t, ch, 5)

	assert.Equal(t, nb.EventPut, evs[0].Type)
	assert.True(t, evs[0].Created())
	assert.Equal(t, nb.KV{Table: "lport", Key: "p1", Value: []byte("v1"), CreateRevision: created, ModRevision: created}, evs[0].KV)
	assert.Nil(t, evs[0].PrevValue)

	assert.Equal(t, nb.EventPut, evs[1].Type)
	assert.False(t, evs[1].Created())
	assert.Equal(t, updated, evs[1].KV.ModRevision)
	assert.Equal(t, "v1", string(evs[1].PrevValue))

	assert.Equal(t, nb.EventDelete, evs[2].Type)
	assert.Equal(t, "p1", evs[2].KV.Key)
	assert.Equal(t, "v2", string(evs[2].KV.Value), "a delete carries the last value")
	assert.Equal(t, "v2", string(evs[2].PrevValue))
	assert.Greater(t, evs[2].KV.ModRevision, updated)

	assert.Equal(t, leased, evs[3].KV.ModRevision)
	assert.Equal(t, id, evs[3].KV.Lease)
	assert.Equal(t, nb.EventDelete, evs[4].Type, "revoking the lease deletes the row")
	assert.Equal(t, "leased", evs[4].KV.Key)
}

func TestWatchFromRevisionReplays(t *testing.T) {
	d := fresh(t)
	c := ctx(t)
	first := mustRev(t)(d.Put(c, "chassis", "c1", []byte("1")))
	mustRev(t)(d.Put(c, "chassis", "c2", []byte("2")))
	require.NoError(t, d.Delete(c, "chassis", "c1", 0))

	evs := collect(t, d.Watch(c, "chassis", first), 3)
	assert.Equal(t, []nb.EventType{nb.EventPut, nb.EventPut, nb.EventDelete}, []nb.EventType{evs[0].Type, evs[1].Type, evs[2].Type})
	assert.Equal(t, "1", string(evs[2].KV.Value))
}

func TestWatchFromNowSeesTheNextWrite(t *testing.T) {
	d := fresh(t)
	c := ctx(t)
	for i := range 20 {
		wctx, cancel := context.WithCancel(c)
		ch := d.Watch(wctx, "t", 0)
		rev := mustRev(t)(d.Put(c, "t", "k", []byte{byte(i)}))
		evs := collect(t, ch, 1)
		assert.Equal(t, rev, evs[0].KV.ModRevision, "round %d", i)
		cancel()
	}
}

func TestWatchCancelClosesWithoutError(t *testing.T) {
	d := fresh(t)
	wctx, cancel := context.WithCancel(ctx(t))
	ch := d.Watch(wctx, "t", 0)
	cancel()
	for {
		r, ok := next(t, ch)
		if !ok {
			return
		}
		require.NoError(t, r.Err)
	}
}

func TestCloseDoesNotWaitForAReader(t *testing.T) {
	d := fresh(t)
	c := ctx(t)
	ch := d.Watch(c, "t", 0)
	for i := range 5 {
		mustRev(t)(d.Put(c, "t", "k", []byte{byte(i)}))
	}
	require.Eventually(t, func() bool { return len(ch) == cap(ch) }, 5*time.Second, time.Millisecond,
		"the watch goroutine is blocked on an unread response")

	closed := make(chan error)
	go func() { closed <- d.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for the reader")
	}
	var last nb.WatchResponse
	for r := range ch {
		last = r
	}
	require.ErrorIs(t, last.Err, nb.ErrClosed)
}

func TestConcurrentWatchAndClose(t *testing.T) {
	d := fresh(t)
	c := ctx(t)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 5 {
				var last nb.WatchResponse
				for r := range d.Watch(c, "t", 0) {
					last = r
				}
				assert.ErrorIs(t, last.Err, nb.ErrClosed)
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			if _, err := d.Put(c, "t", "k", []byte{byte(i)}); err != nil {
				assert.ErrorIs(t, err, nb.ErrClosed)
				return
			}
		}
	})
	mustRev(t)(d.Put(c, "t", "k", []byte("go")))
	require.NoError(t, d.Close())
	wg.Wait()
}

func TestWatchSurvivesServerRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := embedded.Config{DataDir: filepath.Join(dir, "data"), ClientSocket: filepath.Join(dir, "nb.sock"), Logger: etcdtest.Logger(t)}
	srv, err := embedded.Start(t.Context(), cfg)
	require.NoError(t, err)
	d := newDriver(t, srv.Endpoints()...)
	c := ctx(t)
	ch := d.Watch(c, "t", 0)
	mustRev(t)(d.Put(c, "t", "before", []byte("1")))
	collect(t, ch, 1)

	require.NoError(t, srv.Close())
	etcdtest.Start(t, cfg) // same socket and data: the client reconnects
	rev := mustRev(t)(d.Put(c, "t", "after", []byte("2")))
	evs := collect(t, ch, 1)
	assert.Equal(t, rev, evs[0].KV.ModRevision)
	assert.Equal(t, "after", evs[0].KV.Key)
}
