// Package fake is the active port detector of hosts without OVS (df-aio,
// tests): detections happen when told to, through Report or the
// controller's admin endpoint (POST /activeport, used by dfctl activeport
// set|del).
package fake

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/internal/admin"
)

// Detector is the fake detector. It has no goroutine: Report calls the
// handler on the caller's goroutine. Safe for concurrent use.
type Detector struct {
	mu      sync.RWMutex // read-held by calls in flight; Close takes it for writing
	h       activeport.Handler
	closed  bool
	started bool
}

var (
	_ activeport.Detector   = (*Detector)(nil)
	_ activeport.AdminRoute = (*Detector)(nil)
)

// New returns a fake detector.
func New() *Detector { return &Detector{} }

// Start implements activeport.Detector.
func (d *Detector) Start(h activeport.Handler) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return activeport.ErrClosed
	case d.started:
		return errors.New("activeport/fake: already started")
	case h == nil:
		return errors.New("activeport/fake: nil handler")
	}
	d.h, d.started = h, true
	return nil
}

// Report hands det to the controller as if it had been detected.
func (d *Detector) Report(ctx context.Context, det activeport.Detection) (activeport.Result, error) {
	if err := det.Validate(); err != nil {
		return activeport.Result{}, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch {
	case d.closed:
		return activeport.Result{}, activeport.ErrClosed
	case d.h == nil:
		return activeport.Result{}, activeport.ErrNotStarted
	}
	return d.h(ctx, det)
}

// Close implements activeport.Detector: it waits for Report calls in
// flight.
func (d *Detector) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
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
