package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/aio"
	"github.com/dragonflow-go/dragonflow/model"
)

func inprocSource(ip *inproc) cacheSource {
	return cacheSource{ip.name, func() (cacheView, error) {
		v := ip.c.Cache()
		return cacheView{Topics: v.Topics, Tables: v.Tables}, nil
	}}
}

// Scenario 5: the network between one controller and the publisher
// service is cut (a fault-injecting TCP proxy resets the connection and
// blackholes new ones) and restored; events during the cut are repaired.
func TestNetworkCut(t *testing.T) {
	const n, cutFor = 10000, 3 * time.Second
	c := startCluster(t, aio.Options{Controllers: 1}, topicsN(4))
	var st admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), c.a.Process("publisher-service").Admin(), "/status", &st))
	px := startProxy(t, strings.TrimPrefix(st.PublisherURI, "tcp://"))
	db := viaProxy{Driver: c.a.DB(), from: []byte(st.PublisherURI), to: []byte("tcp://" + px.Addr())}
	ip, err := c.startInproc(t.Context(), "proxied-1", db, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ip.c.Close()) })
	for _, tp := range c.topics {
		require.NoError(t, c.portUp(t.Context(), ip, tp))
	}
	// Its subscriptions reached the publisher through the proxy: a write
	// of every topic is applied by event.
	for _, tp := range c.topics {
		require.Eventually(t, func() bool {
			key := fmt.Sprintf("warmup-px-%s-%d", tp, time.Now().UnixNano())
			if c.w.api.Create(t.Context(), &model.LogicalPort{ID: key, Topic: tp, LSwitch: "sw-" + tp, Version: 1}) != nil {
				return false
			}
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				for _, l := range ip.h.get() {
					if l.Kind == "event" && l.Key == key && l.Outcome == "applied" {
						return true
					}
				}
				time.Sleep(5 * time.Millisecond) // polling the history
			}
			return false
		}, 30*time.Second, time.Millisecond)
	}
	var cutAt, restoredAt time.Time
	res, ended := c.midStream(n, 4, 0, func() {
		px.Cut()
		cutAt = time.Now()
		time.Sleep(cutFor) // the fault's duration
		px.Restore()
		restoredAt = time.Now()
	})
	srcs := append(procSources(t, c.controllers()), inprocSource(ip))
	at := c.waitCaches(srcs, 60*time.Second)
	writes := c.w.phaseWrites(1)
	stats := c.checkAll(writes, res.began)
	ps := checkHistory(t, ip.name, ip.h.get(), writes, res.began)
	stats = append(stats, ps)
	require.Zero(t, stats[0].undelivered, "compute-1 is not behind the proxy: every event delivered")
	require.NotZero(t, ps.undelivered, "events during the cut did not reach proxied-1 by event")
	require.NotEmpty(t, ps.gaps, "proxied-1 reported the loss")
	report(t, result{scenario: "5 network cut (proxy)", written: len(writes), perSub: stats, consistent: at.Sub(later(res.ended, ended)),
		extra: []string{
			fmt.Sprintf("proxy %s → %s cut (connections reset, new ones blackholed) for %s, from %s to %s; load %d events at %.0f writes/s",
				px.Addr(), st.PublisherURI, cutFor, cutAt.Format("15:04:05.000"), restoredAt.Format("15:04:05.000"), res.written, res.rate()),
			fmt.Sprintf("proxied-1 (in-process controller.New whose NB DB view advertises the proxy) consistent %s after the cut ended",
				at.Sub(restoredAt).Round(time.Millisecond)),
		}})
}
