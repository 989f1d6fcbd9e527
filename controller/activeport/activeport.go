// Package activeport is how the local controller learns which local port
// currently answers for an allowed-address-pair IP (a VRRP or keepalived
// VIP): Dragonflow's active port detection app (reference §1.14). A
// Detector reports detections to the controller's Handler, which writes
// and publishes the model.ActivePort row. Implementations: fake (driven
// through the controller's admin endpoint, POST /activeport).
package activeport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
)

// Errors. Compare with errors.Is.
var (
	// ErrUnknownPort: the detected port is not in the NB DB lport table.
	ErrUnknownPort = errors.New("activeport: unknown port")
	// ErrNotFound: del of an active port that is not in the NB DB.
	ErrNotFound = errors.New("activeport: no such active port")
	// ErrConflict: del by a port that is not the detected one.
	ErrConflict = errors.New("activeport: detected by another port")
	// ErrInvalid: a malformed Detection.
	ErrInvalid = errors.New("activeport: invalid detection")
	// ErrNotStarted: the detector has no handler yet.
	ErrNotStarted = errors.New("activeport: not started")
	// ErrClosed: the detector was closed.
	ErrClosed = errors.New("activeport: closed")
)

// Action says whether a port took an IP over or gave it up.
type Action string

// Actions.
const (
	// Set: Port answers for IP on Network (an ARP reply or gratuitous ARP
	// was seen); the row is created or updated.
	Set Action = "set"
	// Del: the IP was removed from Port's allowed address pairs; the row
	// is deleted if Port was the detected one.
	Del Action = "del"
)

// Detection is one change.
type Detection struct {
	Action  Action `json:"action"`
	Network string `json:"network"` // LogicalSwitch id
	IP      string `json:"ip"`
	Port    string `json:"port"` // LogicalPort id
	// MAC is the MAC seen in the ARP packet; "" takes the port's first MAC.
	MAC string `json:"mac,omitempty"`
}

// Validate checks the fields; the error wraps ErrInvalid.
func (d Detection) Validate() error {
	if d.Action != Set && d.Action != Del {
		return fmt.Errorf("%w: action %q (want %q or %q)", ErrInvalid, d.Action, Set, Del)
	}
	if d.Network == "" || d.Port == "" || d.IP == "" {
		return fmt.Errorf("%w: network, ip and port are required", ErrInvalid)
	}
	if _, err := netip.ParseAddr(d.IP); err != nil {
		return fmt.Errorf("%w: ip %q: %w", ErrInvalid, d.IP, err)
	}
	return nil
}

// Result is what the controller did (the answer of POST /activeport).
type Result struct {
	Action Action `json:"action"`
	// ID is the row key, model.ActivePortID(network, ip).
	ID      string `json:"id"`
	Topic   string `json:"topic"`
	Network string `json:"network"`
	IP      string `json:"ip"`
	Port    string `json:"port"`
	MAC     string `json:"mac,omitempty"`
	// Changed is false when a set found the row already as detected.
	Changed bool `json:"changed"`
}

// Handler applies a Detection. Safe for concurrent use.
type Handler func(ctx context.Context, d Detection) (Result, error)

// Detector reports detections to a Handler.
type Detector interface {
	// Start hands the detector its handler; it calls it for every
	// detection from then on, never after Close returns. Called once.
	Start(h Handler) error
	// Close stops reporting and waits for calls in flight. Idempotent.
	Close() error
}

// AdminRoute is implemented by detectors driven through the controller's
// admin endpoint (fake): the controller serves the handler at Pattern.
type AdminRoute interface {
	Pattern() string
	http.Handler
}
