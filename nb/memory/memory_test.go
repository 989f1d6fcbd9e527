package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/nb/nbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func closeOnCleanup(t *testing.T, d nb.Driver) {
	t.Cleanup(func() { require.NoError(t, d.Close()) })
}

func TestConformanceFakeClock(t *testing.T) {
	nbtest.Run(t, func(t *testing.T) nbtest.Harness {
		fake := clock.NewFake(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
		d := memory.New(memory.WithClock(fake))
		closeOnCleanup(t, d)
		return nbtest.Harness{Driver: d, Advance: fake.Advance}
	})
}

// TestConformanceRealTime runs the suite's real-time path (Advance == nil),
// the one the etcd driver takes.
func TestConformanceRealTime(t *testing.T) {
	nbtest.Run(t, func(t *testing.T) nbtest.Harness {
		d := memory.New()
		closeOnCleanup(t, d)
		return nbtest.Harness{Driver: d}
	})
}

func TestRegisteredAsMemory(t *testing.T) {
	ctx := t.Context()
	require.Contains(t, nb.Drivers(), "memory")
	d1, err := nb.Open(ctx, "memory", nb.Config{Hosts: []string{"ignored:2379"}})
	require.NoError(t, err)
	closeOnCleanup(t, d1)
	d2, err := nb.Open(ctx, "memory", nb.Config{})
	require.NoError(t, err)
	closeOnCleanup(t, d2)

	_, err = d1.Create(ctx, "t", "k", []byte("v"))
	require.NoError(t, err)
	_, err = d2.Get(ctx, "t", "k")
	require.ErrorIs(t, err, nb.ErrNotFound, "each Open is a fresh store")
}

// A watcher nobody reads must not hold writers up, lose events, or keep
// Close from returning.
func TestSlowWatcherNeverBlocksWriters(t *testing.T) {
	ctx := t.Context()
	d := memory.New()
	closeOnCleanup(t, d)
	const n = 5000
	ch := d.Watch(ctx, "t", 0)
	for i := range n {
		_, err := d.Put(ctx, "t", fmt.Sprint(i%10), []byte(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	got := 0
	for got < n {
		resp := <-ch
		require.NoError(t, resp.Err)
		for _, ev := range resp.Events {
			require.Equal(t, fmt.Sprint(got), string(ev.KV.Value))
			got++
		}
	}
	require.NoError(t, d.Close())
	resp := <-ch
	require.ErrorIs(t, resp.Err, nb.ErrClosed)
	_, ok := <-ch
	require.False(t, ok)
}

func TestCloseWithUnreadWatcher(t *testing.T) {
	ctx := t.Context()
	d := memory.New()
	ch := d.Watch(ctx, "t", 0)
	for i := range 10 {
		_, err := d.Create(ctx, "t", fmt.Sprint(i), nil)
		require.NoError(t, err)
	}
	require.NoError(t, d.Close()) // must not wait for the reader
	var last nb.WatchResponse
	for resp := range ch {
		last = resp
	}
	require.ErrorIs(t, last.Err, nb.ErrClosed)
}

func TestCompactBounds(t *testing.T) {
	ctx := t.Context()
	d := memory.New()
	closeOnCleanup(t, d)
	rev, err := d.Put(ctx, "t", "k", []byte("v"))
	require.NoError(t, err)
	require.Error(t, d.Compact(ctx, rev+1), "future revision")
	require.NoError(t, d.Compact(ctx, rev))
	require.ErrorIs(t, d.Compact(ctx, rev), nb.ErrCompacted)
}

func TestCanceledContext(t *testing.T) {
	d := memory.New()
	closeOnCleanup(t, d)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := d.Put(ctx, "t", "k", []byte("v"))
	require.ErrorIs(t, err, context.Canceled)
	_, ok := <-d.Watch(ctx, "t", 0)
	require.False(t, ok, "a watch on a done context is closed at once")
}

func TestLeaseTimersStopOnClose(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	d := memory.New(memory.WithClock(fake))
	ctx := t.Context()
	_, err := d.Grant(ctx, time.Second)
	require.NoError(t, err)
	require.Equal(t, 1, fake.Pending())
	require.NoError(t, d.Close())
	require.Zero(t, fake.Pending())
}
