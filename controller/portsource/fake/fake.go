// Package fake is the port source of hosts without OVS (df-aio, tests,
// demos): ports go up and down when told to, through Set or the
// controller's admin endpoint (POST /port, used by dfctl port up|down).
package fake

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dragonflow-go/dragonflow/controller/internal/slot"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	"github.com/dragonflow-go/dragonflow/internal/admin"
)

// Source is the fake port source. It has no goroutine: Set calls the
// handler on the caller's goroutine. Safe for concurrent use.
type Source struct {
	h *slot.Slot[portsource.Handler]
}

var (
	_ portsource.Source     = (*Source)(nil)
	_ portsource.AdminRoute = (*Source)(nil)
)

// New returns a fake source.
func New() *Source {
	return &Source{h: slot.New[portsource.Handler]("portsource/fake", portsource.ErrClosed, portsource.ErrNotStarted)}
}

// Start implements portsource.Source.
func (s *Source) Start(h portsource.Handler) error { return s.h.Start(h, h == nil) }

// Set reports that port went up or down, as an OVS port added or deleted
// would, and returns what the controller did.
func (s *Source) Set(ctx context.Context, port string, st portsource.Status) (portsource.Result, error) {
	if port == "" {
		return portsource.Result{}, fmt.Errorf("%w: empty port id", portsource.ErrUnknownPort)
	}
	if _, err := portsource.ParseStatus(string(st)); err != nil {
		return portsource.Result{}, err
	}
	return slot.Call(s.h, func(h portsource.Handler) (portsource.Result, error) {
		return h(ctx, portsource.Change{Port: port, Status: st})
	})
}

// Close implements portsource.Source: it waits for Set calls in flight.
func (s *Source) Close() error {
	s.h.Close()
	return nil
}

// Request is the body of POST /port.
type Request struct {
	Port   string `json:"port"`
	Status string `json:"status"` // "up" or "down"
}

// Pattern implements portsource.AdminRoute.
func (*Source) Pattern() string { return "POST /port" }

// ServeHTTP serves POST /port {"port": ID, "status": "up"|"down"}: 200 with
// a portsource.Result, 400 on a bad body or status, 404 for a port missing
// from the NB DB, 503 before Start or after Close, 500 otherwise; errors
// are {"error": "..."}.
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := admin.DecodeBody(r, &req); err != nil {
		admin.WriteError(w, http.StatusBadRequest, err)
		return
	}
	if req.Port == "" {
		admin.WriteError(w, http.StatusBadRequest, errors.New(`"port" is required`))
		return
	}
	st, err := portsource.ParseStatus(req.Status)
	if err != nil {
		admin.WriteError(w, http.StatusBadRequest, err)
		return
	}
	res, err := s.Set(r.Context(), req.Port, st)
	if err != nil {
		admin.WriteError(w, errorCode(err), err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, res)
}

func errorCode(err error) int {
	switch {
	case errors.Is(err, portsource.ErrUnknownPort):
		return http.StatusNotFound
	case errors.Is(err, portsource.ErrBadStatus):
		return http.StatusBadRequest
	case errors.Is(err, portsource.ErrNotStarted), errors.Is(err, portsource.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
