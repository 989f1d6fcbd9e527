package pubsubtest

import (
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

func init() {
	register("CloseIdempotent", testCloseIdempotent)
	register("CloseWaitsForCallbacks", testCloseWaitsForCallbacks)
}

// closeBlockedWindow is how long Close must still be blocked by a running
// callback: the one wait in the suite for something not to happen.
const closeBlockedWindow = 100 * time.Millisecond

// CloseIdempotent: Publish after Close fails with ErrClosed; closing a
// publisher or a subscriber twice succeeds; a publisher's Close leaves its
// subscribers running; a subscriber's Done is closed and Err nil after
// Close.
func testCloseIdempotent(e *env) {
	p, topic, s := e.pair(subOptions{})
	e.barrier(s, p, topic)

	require.NoError(e.t, p.Close())
	require.NoError(e.t, p.Close(), "closing a publisher twice")
	err := p.Publish(e.ctx, model.DbUpdate{Table: model.TableLogicalPort, Key: "k", Action: model.ActionDelete, Topic: topic})
	require.ErrorIs(e.t, err, pubsub.ErrClosed, "Publish after Close")
	select {
	case <-s.Done():
		require.FailNow(e.t, "the subscriber stopped when its publisher closed", "Err: %v", s.Err())
	default:
	}
	require.NoError(e.t, s.Err())

	e.close(s)
	require.NoError(e.t, s.Close(), "closing a subscriber twice")
}

// CloseWaitsForCallbacks: Close does not return while OnEvent runs, returns
// once it does, and no callback runs after it has returned, though the
// publisher goes on publishing (without error).
func testCloseWaitsForCallbacks(e *env) {
	entered, release := make(chan struct{}), make(chan struct{})
	hook := func(ev pubsub.Event) {
		if ev.Update.Key != "block" {
			return
		}
		close(entered)
		select {
		case <-release:
		case <-e.ctx.Done():
		}
	}
	p, topic, s := e.pair(subOptions{hook: hook})
	e.barrier(s, p, topic)
	more := updates("more", 20, topic)
	e.publish(p, model.DbUpdate{Table: model.TableLogicalPort, Key: "block", Action: model.ActionSet, Topic: topic})
	e.publish(p, more...)
	select {
	case <-entered:
	case <-time.After(waitTimeout):
		require.FailNow(e.t, "the blocking event never reached OnEvent")
	}

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		require.FailNow(e.t, "Close returned while OnEvent was running", "err: %v", err)
	case <-time.After(closeBlockedWindow):
	}
	e.publish(p, more...) // a closing subscriber does not block its publisher
	close(release)
	select {
	case err := <-closed:
		require.NoError(e.t, err)
	case <-time.After(waitTimeout):
		require.FailNow(e.t, "Close did not return after OnEvent did")
	}
	s.closed.Store(true)
	e.publish(p, updates("after-close", 100, topic)...)
	require.Zero(e.t, s.late.Load(), "callbacks after Close returned")
	e.close(s)
}
