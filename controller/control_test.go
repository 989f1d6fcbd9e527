package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

func TestControlGateVerdicts(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newControlGate(10*time.Second, func() time.Time { return now })
	ns := pubsub.Endpoint{PublisherID: "p1", URI: "tcp://10.0.0.1:8866", Role: model.RoleNeutronServer}
	ev := pubsub.Event{Update: model.DbUpdate{Action: model.ActionSync}, Meta: model.Meta{PublisherID: "p1"},
		Endpoint: ns.URI, Authenticated: true}

	unauth := ev
	unauth.Authenticated = false
	require.Equal(t, ControlUnauthenticated, g.verdict(unauth, ns, true), "a NULL-mechanism peer is never obeyed")
	require.Equal(t, ControlUnknown, g.verdict(ev, pubsub.Endpoint{}, false), "a publisher discovery never connected")
	spoofed := ev
	spoofed.Endpoint = "tcp://10.6.6.6:8866"
	require.Equal(t, ControlUnknown, g.verdict(spoofed, ns, true), "an id claimed from another endpoint")
	ctl := ns
	ctl.Role = model.RoleLocalController
	require.Equal(t, ControlWrongRole, g.verdict(ev, ctl, true), "controllers do not command controllers")

	require.Equal(t, ControlObeyed, g.verdict(ev, ns, true))
	now = now.Add(9 * time.Second)
	require.Equal(t, ControlRateLimited, g.verdict(ev, ns, true))
	now = now.Add(2 * time.Second)
	require.Equal(t, ControlObeyed, g.verdict(ev, ns, true), "obeyed again after the interval")

	broker := ev
	broker.Endpoint = "" // broker drivers carry no endpoint; the id must still be a connected neutron-server
	broker.Meta.PublisherID = "p2"
	require.Equal(t, ControlObeyed, g.verdict(broker, pubsub.Endpoint{PublisherID: "p2", URI: "nats://x/publisher/p2",
		Role: model.RoleNeutronServer}, true))
}

// A sync published by a neutron-server over an unauthenticated (NULL)
// connection is received, refused, counted, and causes no resync.
func TestControlActionFromUnauthenticatedPeerRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.start()
	before := e.h.resyncsOf("control-sync")
	require.NoError(t, e.api.Publisher().Publish(t.Context(), model.DbUpdate{Table: "", Key: "", Action: model.ActionSync}))
	require.Eventually(t, func() bool {
		for _, r := range e.h.Events() {
			if r.Action == model.ActionSync {
				return r.Outcome == IgnoredControl
			}
		}
		return false
	}, waitFor, 2*time.Millisecond)
	require.Equal(t, before, e.h.resyncsOf("control-sync"))
	require.Contains(t, scrape(t, c), `df_controller_control_actions_total{action="sync",verdict="unauthenticated"} 1`)
}

// An authenticated sync from the connected neutron-server is obeyed (every
// topic resynced) once; a second one at once is rate-limited.
func TestControlActionFromAuthenticatedServerObeyedAndRateLimited(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.start()
	info := e.api.Publisher().Info()
	require.Eventually(t, func() bool { _, ok := c.target.endpoint(info.ID); return ok }, waitFor, 2*time.Millisecond)
	ev := pubsub.Event{Update: model.DbUpdate{Action: model.ActionReinitialize}, Meta: model.Meta{PublisherID: info.ID},
		Endpoint: info.URI, Authenticated: true}
	c.handleEvent(ev)
	require.Eventually(t, func() bool { return e.h.resyncsOf("control-reinitialize") >= 1 }, waitFor, 2*time.Millisecond)
	c.handleEvent(ev)
	m := scrape(t, c)
	require.Contains(t, m, `df_controller_control_actions_total{action="reinitialize",verdict="obeyed"} 1`)
	require.Contains(t, m, `df_controller_control_actions_total{action="reinitialize",verdict="rate-limited"} 1`)
}

func scrape(t *testing.T, c *Controller) string {
	t.Helper()
	code, body := get(t, c.AdminAddr(), "/metrics")
	require.Equal(t, 200, code)
	return body
}
