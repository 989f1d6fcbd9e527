// Package slot holds the handler of a controller event source (the fake
// port source, the fake active-port detector): set once by Start, used by
// calls that may run concurrently, and closed so that Close waits for the
// calls in flight and later calls fail.
package slot

import (
	"fmt"
	"sync"
)

// Slot holds a handler of type H. The zero value is not usable: build it
// with New. Safe for concurrent use.
type Slot[H any] struct {
	name                     string
	errClosed, errNotStarted error

	mu      sync.RWMutex // read-held by calls in flight; Close takes it for writing
	h       H
	started bool
	closed  bool
}

// New returns an empty slot; name prefixes its own errors, errClosed and
// errNotStarted are what calls get after Close and before Start.
func New[H any](name string, errClosed, errNotStarted error) *Slot[H] {
	return &Slot[H]{name: name, errClosed: errClosed, errNotStarted: errNotStarted}
}

// Start sets the handler once; isNil says whether h is a nil handler (a
// type parameter cannot be compared with nil).
func (s *Slot[H]) Start(h H, isNil bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return s.errClosed
	case s.started:
		return fmt.Errorf("%s: already started", s.name)
	case isNil:
		return fmt.Errorf("%s: nil handler", s.name)
	}
	s.h, s.started = h, true
	return nil
}

// Close makes later calls fail and waits for the calls in flight.
// Idempotent.
func (s *Slot[H]) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// Call runs f with the handler, holding the slot open meanwhile; it fails
// with the slot's errClosed after Close and errNotStarted before Start.
func Call[H, R any](s *Slot[H], f func(H) (R, error)) (R, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var zero R
	switch {
	case s.closed:
		return zero, s.errClosed
	case !s.started:
		return zero, s.errNotStarted
	}
	return f(s.h)
}
