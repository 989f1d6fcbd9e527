// Package gate is the send slot the broker publishers of the etcd and nats
// drivers share: Publish calls pass one at a time (the seq stamp and the
// send happen in the same order), each waits for its turn and sends within
// one bound, and Close waits for the Publish in flight.
package gate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Gate is one publisher's send slot. The zero value is not usable; call New.
type Gate struct {
	name, id string // the driver and the publisher, in errors
	timeout  time.Duration

	sem       chan struct{} // capacity 1: held by the Publish sending, and by Close
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

// New returns the gate of publisher id of driver name; timeout (> 0) bounds
// each Publish: the wait for its turn and the send together.
func New(name, id string, timeout time.Duration) *Gate {
	return &Gate{name: name, id: id, timeout: timeout, sem: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Enter waits for the publisher's turn. It fails with ctx's error when ctx
// is already done, with an error wrapping pubsub.ErrClosed after Close, and,
// when the bound ends while it waits, with ctx's error (ctx ended) or
// pubsub.ErrPublishTimeout. On success the caller sends within bound (ctx
// limited by the timeout, with cause pubsub.ErrPublishTimeout: see Err),
// then calls leave, which gives the turn to the next Publish.
func (g *Gate) Enter(ctx context.Context) (bound context.Context, leave func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: publish: %w", g.name, err)
	}
	if g.Closed() {
		return nil, nil, g.errClosed()
	}
	bound, cancel := context.WithTimeoutCause(ctx, g.timeout, pubsub.ErrPublishTimeout)
	select {
	case g.sem <- struct{}{}:
	case <-bound.Done():
		err := fmt.Errorf("%s: publish as %s waiting for concurrent publishes: %w", g.name, g.id, Err(ctx, bound))
		cancel()
		return nil, nil, err
	case <-g.closed:
		cancel()
		return nil, nil, g.errClosed()
	}
	leave = func() {
		<-g.sem
		cancel()
	}
	if g.Closed() { // Close came while it waited
		leave()
		return nil, nil, g.errClosed()
	}
	return bound, leave, nil
}

func (g *Gate) errClosed() error {
	return fmt.Errorf("%s: publish as %s: %w", g.name, g.id, pubsub.ErrClosed)
}

// Err is the error of a Publish whose bound ended: ctx's own error when ctx
// ended, else the bound's cause, pubsub.ErrPublishTimeout.
func Err(ctx, bound context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Cause(bound)
}

// Closed reports whether Close was called.
func (g *Gate) Closed() bool {
	select {
	case <-g.closed:
		return true
	default:
		return false
	}
}

// Close makes every later Enter fail with pubsub.ErrClosed and waits for
// the Publish in flight to leave (at most its bound); the gate then stays
// shut. Idempotent; only the first call waits.
func (g *Gate) Close() {
	g.closeOnce.Do(func() {
		close(g.closed)
		g.sem <- struct{}{}
	})
}
