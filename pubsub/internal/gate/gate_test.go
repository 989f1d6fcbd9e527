package gate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/gate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEnterLeave(t *testing.T) {
	g := gate.New("drv", "p", time.Minute)
	bound, leave, err := g.Enter(t.Context())
	require.NoError(t, err)
	dl, ok := bound.Deadline()
	require.True(t, ok, "the bound has the timeout")
	require.WithinDuration(t, time.Now().Add(time.Minute), dl, 10*time.Second)
	leave()
	require.ErrorIs(t, bound.Err(), context.Canceled, "leave releases the bound")
	_, leave, err = g.Enter(t.Context())
	require.NoError(t, err, "leave gives the turn on")
	leave()
}

func TestEnterCtxDone(t *testing.T) {
	g := gate.New("drv", "p", time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := g.Enter(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.EqualError(t, err, "drv: publish: context canceled")
}

// One Publish at a time: a second waits for its turn within the timeout,
// then fails with ErrPublishTimeout, or with ctx's error when ctx ends
// first.
func TestEnterWaitsWithinBound(t *testing.T) {
	g := gate.New("drv", "p", 50*time.Millisecond)
	_, leave, err := g.Enter(t.Context())
	require.NoError(t, err)

	start := time.Now()
	_, _, err = g.Enter(t.Context())
	require.ErrorIs(t, err, pubsub.ErrPublishTimeout)
	require.ErrorContains(t, err, "drv: publish as p waiting for concurrent publishes")
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	g2 := gate.New("drv", "p", time.Minute)
	_, leave2, err := g2.Enter(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, _, err = g2.Enter(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, pubsub.ErrPublishTimeout)

	got := make(chan error)
	go func() {
		_, l, err := g2.Enter(t.Context())
		if err == nil {
			l()
		}
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	leave2()
	require.NoError(t, <-got, "the waiter gets the turn")
	leave()
}

// Close waits for the Publish in flight; a Publish waiting for its turn and
// every later one fail with ErrClosed.
func TestClose(t *testing.T) {
	g := gate.New("drv", "p", time.Minute)
	_, leave, err := g.Enter(t.Context())
	require.NoError(t, err)
	waiting := make(chan error)
	go func() {
		_, _, err := g.Enter(t.Context())
		waiting <- err
	}()
	closed := make(chan struct{})
	go func() {
		g.Close()
		close(closed)
	}()
	err = <-waiting
	require.ErrorIs(t, err, pubsub.ErrClosed)
	require.EqualError(t, err, "drv: publish as p: "+pubsub.ErrClosed.Error())
	require.True(t, g.Closed())
	select {
	case <-closed:
		t.Fatal("Close did not wait for the Publish in flight")
	case <-time.After(20 * time.Millisecond):
	}
	leave()
	<-closed
	g.Close() // idempotent, does not wait
	_, _, err = g.Enter(t.Context())
	require.ErrorIs(t, err, pubsub.ErrClosed)
}

func TestErr(t *testing.T) {
	bound, cancel := context.WithTimeoutCause(t.Context(), time.Nanosecond, pubsub.ErrPublishTimeout)
	defer cancel()
	<-bound.Done()
	require.ErrorIs(t, gate.Err(t.Context(), bound), pubsub.ErrPublishTimeout)

	ctx, cancelCtx := context.WithCancel(t.Context())
	bound2, cancel2 := context.WithTimeoutCause(ctx, time.Minute, pubsub.ErrPublishTimeout)
	defer cancel2()
	cancelCtx()
	err := gate.Err(ctx, bound2)
	require.True(t, errors.Is(err, context.Canceled))
	require.NotErrorIs(t, err, pubsub.ErrPublishTimeout)
}
