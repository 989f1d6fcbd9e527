package discovery

import (
	"context"
	"errors"
	"sync"
)

// errClosedByOwner is the cancel cause Close uses, to tell it from the end
// of the ctx given to Register or Discover.
var errClosedByOwner = errors.New("discovery: closed")

// owner is the life of the one goroutine a Registration or a Discovery
// owns, as in etcd's concurrency.Session: ctx ends with the parent or by
// stop, donec closes when the goroutine has returned, err says why it
// stopped unless stop did it.
type owner struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	donec  chan struct{}

	mu  sync.Mutex
	err error // set before donec closes
}

// start runs run in the owned goroutine.
func (o *owner) start(parent context.Context, run func()) {
	o.ctx, o.cancel = context.WithCancelCause(parent)
	o.donec = make(chan struct{})
	go func() {
		defer close(o.donec)
		run()
	}()
}

// ended records why the goroutine is stopping; the first reason wins and
// stop's is none.
func (o *owner) ended(err error) {
	if errors.Is(err, errClosedByOwner) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = err
	}
}

// stopped is nil while the goroutine runs, then what ended recorded.
func (o *owner) stopped() error {
	select {
	case <-o.donec:
	default:
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// stop ends ctx and waits for the goroutine; idempotent.
func (o *owner) stop() {
	o.cancel(errClosedByOwner)
	<-o.donec
}
