package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/controller"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/aio"
)

// Scenario 2: a controller process is killed with -9 mid-stream and
// restarted with the same --state-file. Covered: it resumes from the
// publisher service's replay buffer, no full re-download. Not covered
// (the service's buffer shrunk to 50 events per topic, the controller
// down 1 s while ~1000 events/s flow): it falls back to targeted resyncs.
func TestResumeAfterSubscriberKill(t *testing.T) {
	t.Run("covered", func(t *testing.T) { resumeScenario(t, "2 controller kill -9 + resume (replay covers)", "") })
	t.Run("not-covered", func(t *testing.T) {
		resumeScenario(t, "2b controller kill -9 + resume (buffer too small: fallback)", "50")
	})
}

func statePath(c *cluster, name string) string { return filepath.Join(c.dir, name+".state.json") }

// statePositions reads the positions of a controller's state file.
func statePositions(t *testing.T, path string) map[[3]string]uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var d struct {
		Positions []struct {
			Pub   string `json:"pub"`
			Epoch uint64 `json:"epoch"`
			Topic string `json:"topic"`
			Seq   uint64 `json:"seq"`
		} `json:"positions"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	out := map[[3]string]uint64{}
	for _, p := range d.Positions {
		out[[3]string{p.Pub, fmt.Sprint(p.Epoch), p.Topic}] = p.Seq
	}
	return out
}

func resumeScenario(t *testing.T, name, buffer string) {
	const n, down = 10000, time.Second
	o := aio.Options{Controllers: 1}
	if buffer != "" {
		// A replay buffer too small to cover the outage, for every daemon.
		ini := filepath.Join(t.TempDir(), "replay.ini")
		require.NoError(t, os.WriteFile(ini, []byte("[df_zmq]\nreplay_buffer_events = "+buffer+"\n"), 0o600))
		o.ConfigFiles = []string{ini}
	}
	c := startCluster(t, o, topicsN(4), func(c *cluster, name string) []string {
		return []string{"--state-file", statePath(c, name)}
	})
	ctl := c.controllers()[0]
	var killedAt, killedPID int
	var pos map[[3]string]uint64
	res, ended := c.midStream(n, 4, 0, func() {
		killedAt = len(c.w.phaseWrites(1))
		killedPID = ctl.PID()
		require.NoError(t, ctl.Signal(syscall.SIGKILL))
		<-ctl.Exited()
		// What the restart will load: the state as the kill left it.
		pos = statePositions(t, statePath(c, ctl.Name()))
		time.Sleep(down) // the fault's duration
		require.NoError(t, ctl.Restart())
	})
	require.NoError(t, c.a.WaitReady(t.Context(), 60*time.Second))
	at := c.waitConsistent(c.controllers(), 60*time.Second)
	writes := c.w.phaseWrites(1)

	lines, err := readHistory(c.histPath(ctl.Name()))
	require.NoError(t, err)
	// Events the killed incarnation applied after its last state write
	// died with it (the restored cache does not hold them): they are
	// delivered again after the restart, by replay, and applied again
	// there. Drop them from the killed incarnation's lines so the
	// "applied twice" check sees each application that survived once.
	// Incarnations: the lines after the first "start" are the killed
	// one's, after the second the restarted one's (event lines carry no
	// pid).
	var kept []hline
	var keptInc []int
	crashWindow, inc := 0, 0
	for _, l := range lines {
		if l.Kind == "start" {
			inc++
			if inc == 2 {
				require.NotEqual(t, killedPID, l.PID, "restarted")
			}
		}
		if inc == 1 && l.Kind == "event" && l.Pub != "" {
			if last, ok := pos[[3]string{l.Pub, fmt.Sprint(l.Epoch), l.Topic}]; !ok || l.Seq > last {
				crashWindow++
				continue
			}
		}
		kept = append(kept, l)
		keptInc = append(keptInc, inc)
	}
	require.Equal(t, 2, inc, "two incarnations")
	st := checkHistory(t, ctl.Name(), kept, writes, res.began)

	// After the restart: no start sync (no full re-download); resyncs only
	// where the replay could not cover.
	var afterResyncs = map[string]int{}
	var afterLines []string // reason:topic of each resync after the restart, for failure messages
	firstAfter := map[[3]string]uint64{}
	for i, l := range kept {
		if keptInc[i] < 2 {
			continue
		}
		switch l.Kind {
		case "resync":
			afterLines = append(afterLines, l.Reason+":"+l.Topic)
			if l.Reason == controller.ReasonFirstContact && l.Topic != "" && !inPositions(pos, l.Topic) {
				// A stream whose first event came after the last state write:
				// nothing can prove what preceded it, so it is resynced — the
				// designed fallback, not a failed resume.
				afterResyncs["first-contact-unsaved"]++
				continue
			}
			afterResyncs[l.Reason]++
		case "event":
			k := [3]string{l.Pub, fmt.Sprint(l.Epoch), l.Topic}
			if _, seen := firstAfter[k]; !seen && l.Pub != "" {
				firstAfter[k] = l.Seq
			}
		}
	}
	require.Zero(t, afterResyncs["start"], "no full re-download after the restart")
	require.Zero(t, afterResyncs["resume-fallback"], "the publisher service kept its epoch")
	var status admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), ctl.Admin(), "/status", &status))
	rs, _ := status.Detail["resume"].(map[string]any)
	require.NotNil(t, rs, "resume figures in /status")
	require.Equal(t, true, rs["loaded"])
	replayed := int(rs["replayed"].(float64))
	fallbacks := int(rs["fallbacks"].(float64))
	resumedContinuously := 0
	for k, first := range firstAfter {
		if last, ok := pos[k]; ok && first == last+1 {
			resumedContinuously++
		}
	}
	if buffer == "" {
		require.Positive(t, replayed, "events replayed")
		require.Zero(t, fallbacks)
		for k, r := range afterResyncs {
			// resume-pending: a resync the killed incarnation had queued
			// (e.g. a jittered first-contact one) and still owed.
			if k != "resume-pending" && k != "first-contact-unsaved" {
				require.Failf(t, "a resync after a covered resume", "%s=%d (all: %v; saved positions: %v)", k, r, afterLines, pos)
			}
		}
		require.GreaterOrEqual(t, resumedContinuously, len(c.topics), "every load topic resumed at last+1")
	} else {
		require.Positive(t, fallbacks, "the replay could not cover")
		gapResyncs := afterResyncs["gap-seq"] + afterResyncs["gap-heartbeat"]
		require.Positive(t, gapResyncs, "targeted resyncs repaired it")
	}
	report(t, result{scenario: name, written: len(writes), perSub: []histStats{st},
		consistent: at.Sub(later(res.ended, ended)),
		extra: []string{
			fmt.Sprintf("controller killed -9 after %d writes, down %s, restarted with its --state-file; load %d events at %.0f writes/s, %d writes failed",
				killedAt, down, res.written, res.rate(), res.failed),
			fmt.Sprintf("after the restart: replayed %d events (published before it, delivered on resumed streams), resumed publishers %v, fallbacks %d, resyncs %s, streams resumed at last+1 %d/%d; %d events of the killed incarnation were applied after its last state write (re-applied after the restart)",
				replayed, rs["publishers"], fallbacks, fmtMap(afterResyncs), resumedContinuously, len(firstAfter), crashWindow),
		}})
}

// inPositions reports whether the state file held a position for topic.
func inPositions(pos map[[3]string]uint64, topic string) bool {
	for k := range pos {
		if k[2] == topic {
			return true
		}
	}
	return false
}
