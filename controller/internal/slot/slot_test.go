package slot

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var errClosed, errNotStarted = errors.New("closed"), errors.New("not started")

type handler func(int) (int, error)

func TestSlotLifecycle(t *testing.T) {
	s := New[handler]("test", errClosed, errNotStarted)
	call := func(v int) (int, error) { return Call(s, func(h handler) (int, error) { return h(v) }) }
	_, err := call(1)
	require.ErrorIs(t, err, errNotStarted)
	require.ErrorContains(t, s.Start(nil, true), "nil handler")
	require.NoError(t, s.Start(func(v int) (int, error) { return v * 2, nil }, false))
	require.ErrorContains(t, s.Start(func(int) (int, error) { return 0, nil }, false), "already started")
	got, err := call(21)
	require.NoError(t, err)
	require.Equal(t, 42, got)
	s.Close()
	s.Close()
	_, err = call(1)
	require.ErrorIs(t, err, errClosed)
	require.ErrorIs(t, s.Start(func(int) (int, error) { return 0, nil }, false), errClosed)
}

// Close waits for a call in flight.
func TestCloseWaitsForCalls(t *testing.T) {
	s := New[handler]("test", errClosed, errNotStarted)
	entered, release := make(chan struct{}), make(chan struct{})
	require.NoError(t, s.Start(func(int) (int, error) { close(entered); <-release; return 1, nil }, false))
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = Call(s, func(h handler) (int, error) { return h(0) }) })
	<-entered
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a call was in flight")
	case <-time.After(50 * time.Millisecond): // a bounded wait for something that must NOT happen
	}
	close(release)
	<-closed
	wg.Wait()
}
