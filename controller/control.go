package controller

import (
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Verdicts on a control action (sync, reinitialize, dbrestart) from the
// wire. Dragonflow obeyed any peer (reference §5.2 item 11); we obey only an
// authenticated publisher of role neutron-server, at most once per
// ControlInterval per publisher, and count every refusal.
const (
	ControlObeyed          = "obeyed"
	ControlUnauthenticated = "unauthenticated"
	ControlWrongRole       = "wrong-role"
	ControlUnknown         = "unknown-publisher"
	ControlRateLimited     = "rate-limited"
)

// Outcomes of control actions in the event history.
const (
	// ObeyedControl: a control action from an authenticated neutron-server
	// publisher; every subscribed topic is resynced.
	ObeyedControl Outcome = "obeyed-control"
)

// DefaultControlInterval is the least time between two obeyed control
// actions of one publisher.
const DefaultControlInterval = 30 * time.Second

// controlGate decides whether a control action is obeyed.
type controlGate struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	last map[string]time.Time // publisher id → last obeyed
}

func newControlGate(interval time.Duration, now func() time.Time) *controlGate {
	if interval <= 0 {
		interval = DefaultControlInterval
	}
	return &controlGate{interval: interval, now: now, last: map[string]time.Time{}}
}

// verdict checks ev against the publisher the discovery connected under its
// id: the event must be authenticated by the transport, come from that
// publisher's registered uri (a broker driver has none to compare), from a
// neutron-server, and not too soon after the last obeyed one.
func (g *controlGate) verdict(ev pubsub.Event, ep pubsub.Endpoint, known bool) string {
	switch {
	case !ev.Authenticated:
		return ControlUnauthenticated
	case !known || (ev.Endpoint != "" && ev.Endpoint != ep.URI):
		return ControlUnknown
	case ep.Role != model.RoleNeutronServer:
		return ControlWrongRole
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if last, ok := g.last[ev.Meta.PublisherID]; ok && now.Sub(last) < g.interval {
		return ControlRateLimited
	}
	g.last[ev.Meta.PublisherID] = now
	return ControlObeyed
}

// handleControl applies the gate's verdict to a control action.
func (c *Controller) handleControl(ev pubsub.Event) Outcome {
	ep, known := c.target.endpoint(ev.Meta.PublisherID)
	v := c.control.verdict(ev, ep, known)
	c.m.control.WithLabelValues(ev.Update.Action, v).Inc()
	if v != ControlObeyed {
		c.log.Warn("refusing a control action from the wire", "action", ev.Update.Action, "verdict", v,
			"publisher", ev.Meta.PublisherID, "endpoint", ev.Endpoint)
		return IgnoredControl
	}
	c.log.Info("obeying a control action", "action", ev.Update.Action, "publisher", ev.Meta.PublisherID)
	c.requestAll("control-" + ev.Update.Action)
	return ObeyedControl
}
