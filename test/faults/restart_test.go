package faults

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/aio"
)

// Scenario 1: the publisher service is killed with -9 mid-stream and
// restarted on the same port.
func TestPublisherKilledAndRestarted(t *testing.T) {
	const n, down = 10000, time.Second
	c := startCluster(t, aio.Options{Controllers: 2}, topicsN(4))
	svc := c.a.Process("publisher-service")
	var before admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), svc.Admin(), "/status", &before))
	var killedAt int
	res, ended := c.midStream(n, 4, 0, func() {
		killedAt = len(c.w.phaseWrites(1))
		require.NoError(t, svc.Signal(syscall.SIGKILL))
		<-svc.Exited()
		time.Sleep(down) // the fault's duration
		require.NoError(t, svc.Restart())
	})
	require.NoError(t, c.a.WaitReady(t.Context(), 60*time.Second))
	var after admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), svc.Admin(), "/status", &after))
	require.Equal(t, before.PublisherURI, after.PublisherURI, "restarted on the same port")
	at := c.waitConsistent(c.controllers(), 60*time.Second)
	writes := c.w.phaseWrites(1)
	stats := c.checkAll(writes, res.began)
	for _, s := range stats {
		require.NotZero(t, len(s.gaps)+len(s.resyncs), "%s saw the restart", s.name)
	}
	report(t, result{scenario: "1 publisher kill -9 + restart", written: len(writes), perSub: stats,
		consistent: at.Sub(later(res.ended, ended)),
		extra: []string{
			fmt.Sprintf("publisher service killed after %d writes, down %s, restarted on %s; load %d events at %.0f writes/s, %d writes failed",
				killedAt, down, after.PublisherURI, res.written, res.rate(), res.failed),
			fmt.Sprintf("service after restart: gaps by reason %v, resync markers %d", after.Detail["gaps_by_reason"], after.Resyncs),
		}})
}

// Scenario 3: the NB DB (embedded etcd) is stopped mid-stream and
// restarted on the same data dir and address.
func TestNBDBStoppedAndRestarted(t *testing.T) {
	const n, down = 10000, 2 * time.Second
	c := startCluster(t, aio.Options{Controllers: 2}, topicsN(4))
	var stoppedAt int
	res, ended := c.midStream(n, 4, 0, func() {
		stoppedAt = len(c.w.phaseWrites(1))
		require.NoError(t, c.a.StopDB())
		time.Sleep(down) // the fault's duration
		require.NoError(t, c.a.StartDB(t.Context()))
	})
	require.NoError(t, c.a.WaitReady(t.Context(), 60*time.Second))
	at := c.waitConsistent(c.controllers(), 60*time.Second)
	for _, p := range c.a.Processes() {
		select {
		case <-p.Exited():
			t.Fatalf("%s exited during the NB DB outage", p.Name())
		default:
		}
	}
	writes := c.w.phaseWrites(1)
	stats := c.checkAll(writes, res.began)
	report(t, result{scenario: "3 NB DB stop + restart", written: len(writes), perSub: stats,
		consistent: at.Sub(later(res.ended, ended)),
		extra: []string{
			fmt.Sprintf("etcd stopped after %d writes, down %s; load %d events at %.0f writes/s, %d writes failed during the outage (retried, not counted)",
				stoppedAt, down, res.written, res.rate(), res.failed),
		}})
}
