// Package portsource is where the local controller learns that ports are
// bound on its host or go away: the compute side of the port status flow
// (reference §1.12). A Source reports each change to the controller's
// Handler, which writes the port's status to the NB DB, publishes it to a
// neutron-server listener and updates the controller's local ports
// (selective topology). Implementations: fake (driven through the
// controller's admin endpoint, POST /port) and, later, ovsdb.
package portsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Errors. Compare with errors.Is.
var (
	// ErrUnknownPort: the port is not in the NB DB lport table.
	ErrUnknownPort = errors.New("portsource: unknown port")
	// ErrNotStarted: the source has no handler yet (Start not called).
	ErrNotStarted = errors.New("portsource: not started")
	// ErrClosed: the source was closed.
	ErrClosed = errors.New("portsource: closed")
	// ErrBadStatus: a status other than StatusUp or StatusDown.
	ErrBadStatus = errors.New("portsource: bad status")
)

// Status is a local port's state as a source sees it.
type Status string

// Statuses.
const (
	// StatusUp: the port is bound here and its VM interface is up (OVS
	// port added); the controller reports model.PortStatusActive.
	StatusUp Status = "up"
	// StatusDown: the port went away (OVS port deleted); the controller
	// reports model.PortStatusDown.
	StatusDown Status = "down"
)

// ParseStatus parses "up" or "down"; the error wraps ErrBadStatus.
func ParseStatus(s string) (Status, error) {
	switch Status(s) {
	case StatusUp, StatusDown:
		return Status(s), nil
	}
	return "", fmt.Errorf("%w %q (want %q or %q)", ErrBadStatus, s, StatusUp, StatusDown)
}

// Change is one port going up or down on this host.
type Change struct {
	Port   string // the LogicalPort id
	Status Status
}

// Result is what the controller did with a Change (the answer of POST
// /port).
type Result struct {
	Port string `json:"port"`
	// Status is the Neutron status written and published:
	// model.PortStatusActive or model.PortStatusDown.
	Status string `json:"status"`
	// Listener is the host of the neutron-server listener the status was
	// published to, "" when no live listener was registered (the status
	// is then only in the NB DB portstatus table).
	Listener string `json:"listener"`
	// Version is the version of the portstatus row written.
	Version int64 `json:"version"`
}

// Handler applies a Change. It returns an error wrapping ErrUnknownPort for
// a port missing from the NB DB. It is safe for concurrent use.
type Handler func(ctx context.Context, c Change) (Result, error)

// Source reports port changes of this host to a Handler.
type Source interface {
	// Start hands the source its handler; the source calls it for every
	// change from then on, never after Close returns. It may be called
	// once.
	Start(h Handler) error
	// Close stops reporting and waits for calls in flight. Idempotent.
	Close() error
}

// AdminRoute is implemented by sources driven through the controller's
// admin endpoint (fake): the controller serves the handler at Pattern.
type AdminRoute interface {
	// Pattern is the net/http pattern, e.g. "POST /port".
	Pattern() string
	http.Handler
}
