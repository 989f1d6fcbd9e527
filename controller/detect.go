package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// handleActivePort is the active port detector's Handler (reference §1.14):
// a set creates or updates model.ActivePort{ID: network+ip, Topic: the
// port's tenant, ...} through the NbApi, a del deletes it when the port was
// the detected one. Both are written to the NB DB and published on the
// controller's publisher (the publisher service also relays the table to
// the other controllers).
func (c *Controller) handleActivePort(ctx context.Context, d activeport.Detection) (activeport.Result, error) {
	if err := d.Validate(); err != nil {
		return activeport.Result{}, err
	}
	c.apMu.Lock()
	defer c.apMu.Unlock()
	id := model.ActivePortID(d.Network, d.IP)
	res := activeport.Result{Action: d.Action, ID: id, Network: d.Network, IP: d.IP, Port: d.Port, MAC: d.MAC}
	if d.Action == activeport.Del {
		return c.deleteActivePort(ctx, res)
	}
	lp := &model.LogicalPort{ID: d.Port}
	if err := c.api.Get(ctx, lp); err != nil {
		if errors.Is(err, nb.ErrNotFound) {
			return res, fmt.Errorf("%w %q: not in the NB DB lport table: %w", activeport.ErrUnknownPort, d.Port, err)
		}
		return res, fmt.Errorf("controller: active port %s: %w", id, err)
	}
	if res.MAC == "" && len(lp.MACs) > 0 {
		res.MAC = lp.MACs[0]
	}
	res.Topic = lp.Topic
	ap := &model.ActivePort{ID: id, Topic: lp.Topic, Network: d.Network, IP: d.IP, DetectedMAC: res.MAC, DetectedLPort: d.Port}
	err := c.api.Create(ctx, ap)
	res.Changed = true
	if errors.Is(err, nb.ErrExists) {
		res.Changed, err = c.api.Update(ctx, ap)
	}
	return res, c.published(res, err)
}

// deleteActivePort deletes the row of res.ID if res.Port is its detected
// port.
func (c *Controller) deleteActivePort(ctx context.Context, res activeport.Result) (activeport.Result, error) {
	cur := &model.ActivePort{ID: res.ID}
	if err := c.api.Get(ctx, cur); err != nil {
		if errors.Is(err, nb.ErrNotFound) {
			return res, fmt.Errorf("%w: %s (network %s, ip %s)", activeport.ErrNotFound, res.ID, res.Network, res.IP)
		}
		return res, fmt.Errorf("controller: active port %s: %w", res.ID, err)
	}
	res.Topic, res.MAC = cur.Topic, cur.DetectedMAC
	if cur.DetectedLPort != res.Port {
		return res, fmt.Errorf("%w: %s is detected on port %s, not %s", activeport.ErrConflict, res.ID, cur.DetectedLPort, res.Port)
	}
	res.Changed = true
	return res, c.published(res, c.api.Delete(ctx, cur))
}

// published counts an NbApi write of an active port; a write that was not
// published is still an error for the caller (subscribers see a gap).
func (c *Controller) published(res activeport.Result, err error) error {
	switch {
	case err == nil:
		if res.Changed {
			c.st.eventsOut.Add(1)
			c.m.activePort.WithLabelValues(string(res.Action)).Inc()
			c.log.Info("active port written", "action", res.Action, "id", res.ID, "port", res.Port, "mac", res.MAC)
		}
		return nil
	case errors.Is(err, nbapi.ErrNotPublished):
		c.st.publishErrors.Add(1)
	}
	return fmt.Errorf("controller: active port %s %s: %w", res.Action, res.ID, err)
}
