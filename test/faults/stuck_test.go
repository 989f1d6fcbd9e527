package faults

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/aio"
)

// metric reads one sample of a Prometheus text exposition (the first line
// starting with name), -1 when absent.
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`).FindStringSubmatch(string(b))
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[2], 64)
	require.NoError(t, err)
	return v
}

// lastAppliedOf is when the subscriber last applied an event of a write of
// phase.
func lastAppliedOf(t *testing.T, path string, keys map[string]bool) (time.Time, int) {
	lines, err := readHistory(path)
	require.NoError(t, err)
	var at time.Time
	n := 0
	for _, l := range lines {
		if l.Kind == "event" && l.Outcome == "applied" && keys[l.Key] {
			at = l.T
			n++
		}
	}
	return at, n
}

// Scenario 4: a stuck subscriber (a raw ZMTP SUB that subscribes and never
// reads) next to healthy controllers, and a controller stopped with
// SIGSTOP then resumed.
func TestStuckSubscriber(t *testing.T) {
	const (
		n1, n2  = 4000, 6000
		pad     = 2048 // bigger events: the stuck peers' kernel buffers fill
		stopFor = 7 * time.Second
	)
	c := startCluster(t, aio.Options{Controllers: 3}, topicsN(4))
	svc := c.a.Process("publisher-service")
	var st admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), svc.Admin(), "/status", &st))
	uri := strings.TrimPrefix(st.PublisherURI, "tcp://")
	healthy := []*aio.Process{c.a.Process("compute-1"), c.a.Process("compute-2")}
	paused := c.a.Process("compute-3")

	// deliveredRate is phase writes / (last healthy apply − phase start).
	deliveredRate := func(phase int, r loadResult) float64 {
		keys := map[string]bool{}
		for _, w := range c.w.phaseWrites(phase) {
			keys[w.key] = true
		}
		var last time.Time
		for _, p := range healthy {
			require.Eventually(t, func() bool {
				at, n := lastAppliedOf(t, c.histPath(p.Name()), keys)
				if n >= r.written {
					if at.After(last) {
						last = at
					}
					return true
				}
				return false
			}, 60*time.Second, 20*time.Millisecond, "%s applies every event of phase %d", p.Name(), phase)
		}
		return float64(r.written) / last.Sub(r.began).Seconds()
	}

	// Phase 1: healthy only.
	r1 := c.w.load(t.Context(), 1, c.topics, n1, 2, pad)
	rate1 := deliveredRate(1, r1)

	// Phase 2: a stuck raw SUB and a SIGSTOPped controller.
	stuck := dialStuck(t, uri, "stuck-probe")
	probe := "stuck-probe@" + stuck.LocalAddr().String()
	require.NoError(t, paused.Signal(syscall.SIGSTOP))
	stopped := time.Now()
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = paused.Signal(syscall.SIGCONT)
		}
	})
	r2 := c.w.load(t.Context(), 2, c.topics, n2, 2, pad)
	rate2 := deliveredRate(2, r2)
	if d := stopFor - time.Since(stopped); d > 0 {
		time.Sleep(d) // the fault's duration: longer than the publisher's 5 s write timeout
	}
	require.NoError(t, paused.Signal(syscall.SIGCONT))
	resumed = true
	cont := time.Now()

	// The stuck peer is cut by the publisher service, which says so.
	var cutLine string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(svc.LogPath())
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "subscriber cut") && strings.Contains(l, probe) {
				cutLine = l
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "the publisher service cuts %s", probe)
	drained, err := drainUntilClosed(stuck, 20*time.Second)
	require.NoError(t, err, "the stuck connection ends with EOF once read")
	dropped := metric(t, svc.Admin(), "df_publisher_dropped_total")

	at := c.waitConsistent(c.controllers(), 60*time.Second)
	writes := c.w.phaseWrites(1, 2)
	var stats []histStats
	for _, p := range c.controllers() {
		lines, err := readHistory(c.histPath(p.Name()))
		require.NoError(t, err)
		s := checkHistory(t, p.Name(), lines, writes, r1.began)
		stats = append(stats, s)
		if p != paused {
			require.Zero(t, s.undelivered, "%s is healthy: every event delivered", p.Name())
			require.Equal(t, len(writes), s.delivered)
		}
	}
	// The stopped controller reported a loss after it resumed and resynced.
	lines, err := readHistory(c.histPath(paused.Name()))
	require.NoError(t, err)
	var gapAfter, resyncAfter bool
	for _, l := range lines {
		if !l.T.Before(cont) {
			gapAfter = gapAfter || l.Kind == "gap"
			resyncAfter = resyncAfter || (l.Kind == "resync" && l.Err == "" && strings.HasPrefix(l.Reason, "gap-"))
		}
	}
	require.True(t, gapAfter && resyncAfter, "%s reported a gap and resynced after SIGCONT", paused.Name())
	ratio := rate2 / rate1
	require.Greater(t, ratio, 0.3, "the publisher keeps its rate with a stuck peer (loose: noisy machine)")
	report(t, result{
		scenario: "4 stuck subscriber", written: len(writes), perSub: stats, consistent: at.Sub(later(r2.ended, cont)),
		extra: []string{
			fmt.Sprintf("phase 1 (no stuck peer): %d events, delivered to the healthy controllers at %.0f events/s", r1.written, rate1),
			fmt.Sprintf("phase 2 (raw stuck SUB + compute-3 SIGSTOPped %s): %d events at %.0f events/s; ratio %.2f", stopFor, r2.written, rate2, ratio),
			fmt.Sprintf("publisher service: df_publisher_dropped_total=%.0f; cut logged: %s", dropped, cutMsg(cutLine)),
			fmt.Sprintf("stuck peer: %d bytes left in its buffers, then EOF", drained),
			fmt.Sprintf("compute-3 resumed; consistent %s after SIGCONT", at.Sub(cont).Round(time.Millisecond)),
		},
	})
}

func cutMsg(l string) string {
	if i := strings.Index(l, "msg="); i >= 0 {
		return l[i:]
	}
	return l
}
