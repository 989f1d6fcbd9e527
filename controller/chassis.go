package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// registerChassis writes the controller's chassis, {id: host, ip:
// management ip}, through the NbApi: created, or merged into the existing
// row. It is published like any NB write: the controller's publisher never
// clashes with another (Dragonflow wrote it with skip_send_event because of
// that clash, bug 1651643). A write that could not be published is logged
// and counted, not fatal: the row is in the NB DB and others sync it.
func (c *Controller) registerChassis(ctx context.Context) error {
	ip := c.api.Settings().ManagementIP
	if ip == "" || ip == "invalid IP" {
		if h, err := c.api.Settings().AdvertiseHost(); err == nil {
			ip = h
		}
	}
	ch := &model.Chassis{ID: c.host, IP: ip}
	err := c.api.Create(ctx, ch)
	changed := true
	if errors.Is(err, nb.ErrExists) {
		changed, err = c.api.Update(ctx, ch)
	}
	switch {
	case err == nil:
		if changed {
			c.st.eventsOut.Add(1)
		}
		c.log.Info("chassis registered", "id", c.host, "ip", ip, "changed", changed)
		return nil
	case errors.Is(err, nbapi.ErrNotPublished):
		c.st.publishErrors.Add(1)
		c.log.Warn("chassis written but not published", "err", err)
		return nil
	}
	return fmt.Errorf("controller: register chassis %s: %w", c.host, err)
}
