package neutron_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/neutron"
)

const wait, poll = 10 * time.Second, 5 * time.Millisecond

// newPort creates a network, subnet and port through the API.
func newPort(t *testing.T, e *env) string {
	t.Helper()
	netID, _ := fixture(t, e)
	code, body := e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}})
	require.Equal(t, 201, code, body)
	return body["port"].(map[string]any)["id"].(string)
}

func statusIs(t *testing.T, e *env, id, status string) func() bool {
	return func() bool { return e.port(t, id).Status == status }
}

func TestListenerAppliesEventsAndDropsTheRest(t *testing.T) {
	e := newEnv(t)
	id := newPort(t, e)
	c := e.controller(t, "ctl-1")
	l := e.listen(t, neutron.ListenerConfig{})
	require.Eventually(t, func() bool { return len(l.Publishers()) == 1 }, wait, poll, "discovered, not configured")
	require.Equal(t, "ctl-1", l.Publishers()[0].ID)

	before := e.port(t, id).Version
	// The event alone (no portstatus row), so that only the event path
	// can apply it.
	c.publish(t, model.DbUpdate{Table: model.TableLogicalPort, Key: id, Action: model.ActionUpdate, Value: []byte("ACTIVE")})
	require.Eventually(t, statusIs(t, e, id, "ACTIVE"), wait, poll)
	p := e.port(t, id)
	require.Equal(t, before+1, p.Version, "NbApi.Update bumps the version (revision_number)")
	ups := e.rec.Updates()
	last := ups[len(ups)-1]
	require.Equal(t, "set", last.Action)
	require.Equal(t, id, last.Key)
	code, body := e.do(t, "GET", "/v2.0/ports/"+id, nil)
	require.Equal(t, 200, code)
	require.Equal(t, "ACTIVE", body["port"].(map[string]any)["status"])
	require.EqualValues(t, p.Version, body["port"].(map[string]any)["revision_number"])

	// Junk on the topic is dropped and counted; a status for a deleted
	// port is ignored; the same status again changes nothing.
	c.publish(t, model.DbUpdate{Table: "chassis", Key: "x", Action: "update", Value: []byte("ACTIVE")})
	c.publish(t, model.DbUpdate{Table: "lport", Key: id, Action: "set", Value: []byte("DOWN")})
	c.publish(t, model.DbUpdate{Table: "lport", Key: id, Action: "update", Value: []byte("SLEEPY")})
	c.publish(t, model.DbUpdate{Table: "lport", Key: id, Action: "update", Value: []byte("DOWN"), Topic: "listener_node10"})
	c.publish(t, model.DbUpdate{Table: "lport", Key: "gone", Action: "update", Value: []byte("DOWN")})
	c.report(t, id, model.PortStatusActive, 2)
	require.Eventually(t, func() bool { return l.Stats().Unchanged == 1 }, wait, poll)
	s := l.Stats()
	require.Equal(t, map[string]uint64{neutron.DropUnknownTable: 1, neutron.DropUnknownAction: 1,
		neutron.DropBadStatus: 1, neutron.DropWrongTopic: 1}, s.Dropped,
		"listener_node10 matches listener_node1 as a prefix, but is not node1's topic: %+v", s)
	require.Equal(t, uint64(1), s.UnknownPorts)
	require.Equal(t, uint64(1), s.EventsApplied)
	require.Equal(t, model.PortStatusActive, e.port(t, id).Status)
	require.Equal(t, p.Version, e.port(t, id).Version)
}

func TestListenerReconcilesOnNewPublisherAndPeriodically(t *testing.T) {
	e := newEnv(t)
	id := newPort(t, e)
	// A controller wrote a status before any listener ran (the event went
	// nowhere): the start-up reconcile applies it. Rows of deleted ports
	// are ignored.
	c := e.controller(t, "ctl-1")
	c.writeStatus(t, id, model.PortStatusActive, 1)
	c.writeStatus(t, "deleted-port", model.PortStatusActive, 1)
	l := e.listen(t, neutron.ListenerConfig{SyncInterval: 200 * time.Millisecond})
	require.Eventually(t, statusIs(t, e, id, "ACTIVE"), wait, poll)

	// A status written with no event: the periodic reconcile repairs it.
	c.writeStatus(t, id, model.PortStatusDown, 2)
	require.Eventually(t, statusIs(t, e, id, "DOWN"), wait, poll)

	// A new publisher is discovered: reconcile at once.
	c.writeStatus(t, id, model.PortStatusActive, 3)
	e.controller(t, "ctl-2")
	require.Eventually(t, func() bool { return len(l.Publishers()) == 2 }, wait, poll)
	require.Eventually(t, statusIs(t, e, id, "ACTIVE"), wait, poll)
	s := l.Stats()
	require.GreaterOrEqual(t, s.Reconciles, uint64(3))
	require.Equal(t, uint64(3), s.ReconcileApplied)
	require.Zero(t, s.UnknownPorts, "reconciles skip deleted ports")
}

func TestListenerReconcilesOnGap(t *testing.T) {
	e := newEnv(t)
	id := newPort(t, e)
	c := e.controller(t, "ctl-1")
	l := e.listen(t, neutron.ListenerConfig{SyncInterval: time.Hour})
	require.Eventually(t, func() bool { return len(l.Publishers()) == 1 && l.Stats().Reconciles >= 1 }, wait, poll)
	c.report(t, id, model.PortStatusActive, 1)
	require.Eventually(t, statusIs(t, e, id, "ACTIVE"), wait, poll)

	// The controller restarts (new epoch at the same uri); the status it
	// reported meanwhile was lost. Its next event reveals the epoch gap and
	// the reconcile applies the row even though the event itself is junk.
	require.NoError(t, c.pub.Close())
	c2 := e.restart(t, c)
	c2.writeStatus(t, id, model.PortStatusDown, 2)
	c2.publish(t, model.DbUpdate{Table: "chassis", Key: "x", Action: "update", Value: []byte("x")})
	require.Eventually(t, statusIs(t, e, id, "DOWN"), wait, poll)
	require.GreaterOrEqual(t, l.Stats().Gaps, uint64(1))
}

func TestListenerRowHeartbeatAndClose(t *testing.T) {
	e := newEnv(t)
	log, _ := testLogger(t)
	l, err := neutron.StartListener(t.Context(), neutron.ListenerConfig{
		Nb: e.nb, Host: "node1", TTL: 3 * time.Second, Heartbeat: 20 * time.Millisecond, Logger: log})
	require.NoError(t, err)
	read := func() model.Listener {
		kv, err := e.db.Get(t.Context(), model.TableListener, "node1")
		require.NoError(t, err)
		require.NotZero(t, kv.Lease, "the row lives on a lease")
		var row model.Listener
		require.NoError(t, json.Unmarshal(kv.Value, &row))
		return row
	}
	first := read()
	require.Equal(t, "listener_node1", l.Topic())
	require.Eventually(t, func() bool { return read().Timestamp > first.Timestamp }, wait, poll,
		"the heartbeat really refreshes the timestamp")

	// A lost lease is replaced at the next beat.
	require.NoError(t, e.db.Revoke(t.Context(), mustLease(t, e)))
	require.Eventually(t, func() bool { return l.Stats().LeaseLost == 1 }, wait, poll)
	require.Eventually(t, func() bool {
		_, err := e.db.Get(t.Context(), model.TableListener, "node1")
		return err == nil
	}, wait, poll)

	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "idempotent")
	<-l.Done()
	require.NoError(t, l.Err())
	kvs, _, err := e.db.List(t.Context(), model.TableListener, "")
	require.NoError(t, err)
	require.Empty(t, kvs, "Close revokes the lease")
}
