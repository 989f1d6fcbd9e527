package faults

import (
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/controller"
	"github.com/dragonflow-go/dragonflow/internal/aio"
)

// Scenario 6: the publisher service restarts under 200 subscribers
// (in-process controller.New instances: 200 processes are too heavy for
// two cores) whose reconnect resyncs are spread by ResyncJitter and
// capped by a shared SyncLimit; how long until all are consistent.
func TestPublisherRestartUnder200Subscribers(t *testing.T) {
	const (
		subs, n  = 200, 10000
		jitter   = 2 * time.Second
		maxSyncs = 8
		down     = time.Second
	)
	c := startCluster(t, aio.Options{Controllers: 1}, topicsN(16))
	limit := controller.NewSyncLimit(maxSyncs)
	ips := make([]*inproc, subs)
	var wg sync.WaitGroup
	errs := make(chan error, subs)
	sem := make(chan struct{}, 16)
	for i := range ips {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ip, err := c.startInproc(t.Context(), fmt.Sprintf("sub-%03d", i), c.a.DB(), func(cfg *controller.Config) {
				cfg.ResyncJitter, cfg.SyncLimit = jitter, limit
			})
			if err == nil {
				ips[i] = ip
				err = c.portUp(t.Context(), ip, c.topics[i%len(c.topics)])
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	t.Cleanup(func() {
		var cw sync.WaitGroup
		for _, ip := range ips {
			if ip != nil {
				cw.Go(func() { _ = ip.c.Close() })
			}
		}
		cw.Wait()
	})
	for err := range errs {
		require.NoError(t, err)
	}
	svc := c.a.Process("publisher-service")
	var restarted time.Time
	res, ended := c.midStream(n, 2, 0, func() {
		require.NoError(t, svc.Signal(syscall.SIGKILL))
		<-svc.Exited()
		time.Sleep(down) // the fault's duration
		require.NoError(t, svc.Restart())
		restarted = time.Now()
	})
	var srcs []cacheSource
	for _, ip := range ips {
		srcs = append(srcs, inprocSource(ip))
	}
	srcs = append(srcs, procSources(t, c.controllers())...)
	at := c.waitCaches(srcs, 120*time.Second)
	writes := c.w.phaseWrites(1)
	stats := c.checkAll(writes, res.began)
	var starts []time.Duration
	var delayed []time.Duration
	for _, ip := range ips {
		lines := ip.h.get()
		var mine []write
		for _, w := range writes {
			if slices.Contains(ip.c.Topics(), w.topic) {
				mine = append(mine, w)
			}
		}
		stats = append(stats, checkHistory(t, ip.name, lines, mine, res.began))
		for _, l := range lines {
			if l.Kind == "resync" && !l.T.Before(restarted) && l.Reason != "start" && l.Reason != "topic-added" {
				starts = append(starts, l.T.Add(-time.Duration(l.TookNS)).Sub(restarted))
				delayed = append(delayed, time.Duration(l.Delayed))
			}
		}
	}
	require.NotEmpty(t, starts, "the subscribers resynced after the restart")
	slices.Sort(starts)
	slices.Sort(delayed)
	q := func(d []time.Duration, p int) time.Duration { return d[(len(d)-1)*p/100].Round(time.Millisecond) }
	require.LessOrEqual(t, limit.Peak(), maxSyncs)
	report(t, result{scenario: "6 publisher restart, 200 subscribers", written: len(writes), perSub: stats, consistent: at.Sub(later(res.ended, ended)),
		extra: []string{
			fmt.Sprintf("%d in-process controller.New (ResyncJitter %s, shared SyncLimit %d) + 1 controller process, 16 topics (each in-process controller follows one); publisher service killed -9, down %s, restarted",
				subs, jitter, maxSyncs, down),
			fmt.Sprintf("all %d subscribers consistent %s after the restart (%s after the last write)", subs+1,
				at.Sub(restarted).Round(time.Millisecond), at.Sub(res.ended).Round(time.Millisecond)),
			fmt.Sprintf("%d resyncs after the restart; start offsets from the restart: min %s, p50 %s, p90 %s, max %s; queue delays (jitter + waiting behind the same controller's other resyncs) p50 %s, max %s",
				len(starts), q(starts, 0), q(starts, 50), q(starts, 90), q(starts, 100), q(delayed, 50), q(delayed, 100)),
			fmt.Sprintf("SyncLimit: peak %d concurrent resyncs (cap %d), %d resyncs waited for a slot; load %d events at %.0f writes/s",
				limit.Peak(), maxSyncs, limit.Waits(), res.written, res.rate()),
		}})
}
