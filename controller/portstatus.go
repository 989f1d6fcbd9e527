package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dragonflow-go/dragonflow/controller/portsource"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// handlePort is the port source's Handler (reference §1.12, compute side):
//
//  1. the port's lport is read from the NB DB (its tenant; unknown port:
//     ErrUnknownPort, nothing written);
//  2. the local ports (and, selective, the tenant topics) are updated;
//  3. model.PortStatus{Status: ACTIVE|DOWN, Chassis: host, Version:
//     previous+1} is written to the NB DB, not published: it is state a
//     listener repairs a gap from (design §4.5 rule 5);
//  4. one live listener is chosen among the listener rows (round robin;
//     rows are on leases, so a dead neutron-server's row is gone) and
//     DbUpdate{lport, id, update, ACTIVE|DOWN, listener_<host>} is
//     published on the controller's publisher: Dragonflow's contract, a
//     plain status word with action update. With no listener the status
//     is only in the NB DB (counted, logged).
//
// Changes are serialised, so versions follow the order of the reports.
func (c *Controller) handlePort(ctx context.Context, ch portsource.Change) (portsource.Result, error) {
	c.portMu.Lock()
	defer c.portMu.Unlock()
	lp := &model.LogicalPort{ID: ch.Port}
	if err := c.api.Get(ctx, lp); err != nil {
		if errors.Is(err, nb.ErrNotFound) {
			return portsource.Result{}, fmt.Errorf("%w %q: not in the NB DB lport table: %w", portsource.ErrUnknownPort, ch.Port, err)
		}
		return portsource.Result{}, fmt.Errorf("controller: port %s: %w", ch.Port, err)
	}
	status := model.PortStatusActive
	var err error
	if ch.Status == portsource.StatusUp {
		err = c.portUp(lp.ID, lp.Topic)
	} else {
		status = model.PortStatusDown
		err = c.portDown(lp.ID)
	}
	c.publishLocalPorts()
	if err != nil {
		return portsource.Result{}, err
	}
	version, err := c.writePortStatus(ctx, lp, status)
	if err != nil {
		return portsource.Result{}, err
	}
	res := portsource.Result{Port: lp.ID, Status: status, Version: version}
	res.Listener, err = c.sendPortStatus(ctx, lp.ID, status)
	if err != nil {
		return res, err
	}
	c.log.Info("port status reported", "port", lp.ID, "status", status, "version", version, "listener", res.Listener)
	return res, nil
}

// writePortStatus puts the port's portstatus row with the previous
// version + 1 and returns that version.
func (c *Controller) writePortStatus(ctx context.Context, lp *model.LogicalPort, status string) (int64, error) {
	var prev model.PortStatus
	kv, err := c.api.DB().Get(ctx, model.TablePortStatus, lp.ID)
	switch {
	case err == nil:
		if json.Unmarshal(kv.Value, &prev) != nil {
			c.log.Warn("replacing an undecodable portstatus row", "port", lp.ID)
		}
	case errors.Is(err, nb.ErrNotFound):
	default:
		return 0, fmt.Errorf("controller: read portstatus/%s: %w", lp.ID, err)
	}
	ps := model.PortStatus{
		ID: lp.ID, Topic: lp.Topic, Status: status, Chassis: c.host,
		Version: prev.Version + 1, Timestamp: model.UnixSeconds(c.clk.Now()),
	}
	data, err := json.Marshal(&ps)
	if err != nil {
		return 0, fmt.Errorf("controller: encode portstatus/%s: %w", lp.ID, err)
	}
	if _, err := c.api.DB().Put(ctx, model.TablePortStatus, lp.ID, data); err != nil {
		return 0, fmt.Errorf("controller: write portstatus/%s: %w", lp.ID, err)
	}
	return ps.Version, nil
}

// sendPortStatus publishes the status to one live listener and returns
// its host, "" when there is none.
func (c *Controller) sendPortStatus(ctx context.Context, port, status string) (string, error) {
	listener, err := c.pickListener(ctx)
	if err != nil {
		return "", err
	}
	if listener == "" {
		c.st.noListener.Add(1)
		c.m.noListener.Inc()
		c.log.Warn("no live neutron-server listener: port status only written to the NB DB", "port", port, "status", status)
		return "", nil
	}
	u := model.DbUpdate{
		Table: model.TableLogicalPort, Key: port, Action: model.ActionUpdate,
		Value: []byte(status), Topic: model.ListenerTopic(listener),
	}
	if err := c.api.Publisher().Publish(ctx, u); err != nil {
		c.st.publishErrors.Add(1)
		return listener, fmt.Errorf("controller: port %s: status %s written but not published to listener %s: %w",
			port, status, listener, err)
	}
	c.st.eventsOut.Add(1)
	c.st.portStatusSent.Add(1)
	c.m.portStatus.WithLabelValues(status).Inc()
	return listener, nil
}

// pickListener reads the listener table and picks one row round robin.
// Listener rows live on leases: only live listeners are listed, and each
// choice reads the table again, so a listener that has gone is never
// picked.
func (c *Controller) pickListener(ctx context.Context) (string, error) {
	kvs, _, err := c.api.DB().List(ctx, model.TableListener, "")
	if err != nil {
		return "", fmt.Errorf("controller: list listeners: %w", err)
	}
	hosts := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		var l model.Listener
		if err := json.Unmarshal(kv.Value, &l); err != nil || l.ID == "" {
			c.log.Warn("skipping an undecodable listener row", "key", kv.Key, "err", err)
			continue
		}
		hosts = append(hosts, l.ID)
	}
	if len(hosts) == 0 {
		return "", nil
	}
	return hosts[(c.rr.Add(1)-1)%uint64(len(hosts))], nil
}
