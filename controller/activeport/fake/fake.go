// Package fake is the active port detector of hosts without OVS (df-aio,
// tests): detections happen when told to, through Report or the
// controller's admin endpoint (POST /activeport, used by dfctl activeport
// set|del).
package fake

import (
	"context"
	"errors"
	"net/http"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/controller/internal/slot"
	"github.com/dragonflow-go/dragonflow/internal/admin"
)

// Detector is the fake detector. It has no goroutine: Report calls the
// handler on the caller's goroutine. Safe for concurrent use.
type Detector struct {
	h *slot.Slot[activeport.Handler]
}

var (
	_ activeport.Detector   = (*Detector)(nil)
	_ activeport.AdminRoute = (*Detector)(nil)
)

// New returns a fake detector.
func New() *Detector {
	return &Detector{h: slot.New[activeport.Handler]("activeport/fake", activeport.ErrClosed, activeport.ErrNotStarted)}
}

// Start implements activeport.Detector.
func (d *Detector) Start(h activeport.Handler) error { return d.h.Start(h, h == nil) }

// Report hands det to the controller as if it had been detected.
func (d *Detector) Report(ctx context.Context, det activeport.Detection) (activeport.Result, error) {
	if err := det.Validate(); err != nil {
		return activeport.Result{}, err
	}
	return slot.Call(d.h, func(h activeport.Handler) (activeport.Result, error) { return h(ctx, det) })
}

// Close implements activeport.Detector: it waits for Report calls in
// flight.
func (d *Detector) Close() error {
	d.h.Close()
	return nil
}

// Pattern implements activeport.AdminRoute.
func (*Detector) Pattern() string { return "POST /activeport" }

// ServeHTTP serves POST /activeport with an activeport.Detection body:
// 200 with an activeport.Result; 400 on a bad body, 404 for an unknown
// port or active port, 409 when another port is the detected one, 503
// before Start or after Close, 500 otherwise; errors are {"error": "..."}.
func (d *Detector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var det activeport.Detection
	if err := admin.DecodeBody(r, &det); err != nil {
		admin.WriteError(w, http.StatusBadRequest, err)
		return
	}
	res, err := d.Report(r.Context(), det)
	if err != nil {
		admin.WriteError(w, errorCode(err), err)
		return
	}
	admin.WriteJSON(w, http.StatusOK, res)
}

func errorCode(err error) int {
	switch {
	case errors.Is(err, activeport.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, activeport.ErrUnknownPort), errors.Is(err, activeport.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, activeport.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, activeport.ErrNotStarted), errors.Is(err, activeport.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
