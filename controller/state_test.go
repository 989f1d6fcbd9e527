package controller

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	raw := json.RawMessage(`{"id":"p1","topic":"t1","version":3}`)
	d := &stateDoc{Format: stateFormat, Host: "h1", Topics: []string{"D", "t1"},
		LocalPorts: map[string]string{"p1": "t1"}, Pending: []string{"t1"},
		Positions: []statePos{{Pub: "x", Epoch: 9, Topic: "t1", Seq: 42}},
		Tables:    map[string]map[string]json.RawMessage{"lport": {"p1": raw}}}
	require.NoError(t, writeState(path, d))
	got, why := loadState(path, "h1")
	require.Empty(t, why)
	got.Written = d.Written
	require.Equal(t, d, got)
	left, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".state.json.*"))
	require.NoError(t, err)
	require.Empty(t, left, "no temporary file left")

	_, why = loadState(path, "h2")
	require.Contains(t, why, "host")
	got, why = loadState(filepath.Join(t.TempDir(), "none"), "h1")
	require.Nil(t, got)
	require.Empty(t, why, "no file: nothing to say")
	require.NoError(t, os.WriteFile(path, []byte(`{"format":"dragonflow-go/controller-state/1","host":"h1","tab`), 0o600))
	got, why = loadState(path, "h1")
	require.Nil(t, got)
	require.Contains(t, why, "parse")
	require.NoError(t, os.WriteFile(path, []byte(`{"format":"other","host":"h1"}`), 0o600))
	_, why = loadState(path, "h1")
	require.Contains(t, why, "format")
}

// A controller restarted with its state file resumes: no start sync, the
// events published while it was down come from the publisher's replay
// buffer, nothing is applied twice, the order is kept.
func TestRestartResumesFromStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	e := newEnv(t, nil, func(c *Config) { c.StateFile = path; c.StateInterval = 10 * time.Millisecond })
	ctx := t.Context()
	c1 := e.start()
	require.NoError(t, e.api.Create(ctx, lswitch("t1")))
	for i := range 20 {
		require.NoError(t, e.api.Create(ctx, lport(fmt.Sprintf("p%d", i), "t1", 1)))
	}
	e.waitCached(model.TableLogicalPort, "p19", 1)
	require.Equal(t, 1, e.h.resyncsOf(ReasonStart))
	require.NoError(t, c1.Close())
	require.False(t, c1.ResumeStats().Loaded)

	// While it is down: updates, creates, a delete.
	for i := range 10 {
		_, err := e.api.Update(ctx, lport(fmt.Sprintf("p%d", i), "t1", 2))
		require.NoError(t, err)
	}
	require.NoError(t, e.api.Create(ctx, lport("late", "t1", 1)))
	require.NoError(t, e.api.Delete(ctx, lport("p19", "t1", 1)))

	c2 := e.start()
	e.waitCached(model.TableLogicalPort, "late", 1)
	e.waitCached(model.TableLogicalPort, "p9", 2)
	e.waitCached(model.TableLogicalPort, "p19", -1)
	require.Equal(t, 1, e.h.resyncsOf(ReasonStart), "no start sync after the restart")
	require.Equal(t, 1, e.h.resyncsOf(""), "no other resync: the replay covered everything")
	rs := c2.ResumeStats()
	require.True(t, rs.Loaded)
	require.EqualValues(t, 1, rs.Publishers)
	require.EqualValues(t, 12, rs.Replayed)
	require.Zero(t, rs.Fallbacks)
	e.h.checkOrder(t)
	require.Equal(t, 20, c2.CacheSizes()[model.TableLogicalPort], "20 + late - p19")
}

// A replay buffer too small for what was missed: the gap falls back to a
// targeted resync, and the cache ends right.
func TestRestartFallsBackWhenReplayDoesNotCover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	pubDrv := zmq.New(zmq.WithBackoff(5*time.Millisecond, 50*time.Millisecond), zmq.WithReplayBuffer(3, 1<<20))
	e := newEnvPub(t, pubDrv, nil, func(c *Config) {
		c.StateFile = path
		c.StateInterval = 10 * time.Millisecond
		c.ResyncJitter = -1
	})
	ctx := t.Context()
	c1 := e.start()
	require.NoError(t, e.api.Create(ctx, lswitch("t1")))
	e.waitCached(model.TableLogicalSwitch, "net-t1", 1)
	require.NoError(t, c1.Close())
	for i := range 10 {
		require.NoError(t, e.api.Create(ctx, lport(fmt.Sprintf("p%d", i), "t1", 1)))
	}
	c2 := e.start()
	require.NoError(t, e.api.Create(ctx, lport("after", "t1", 1)))
	e.waitCached(model.TableLogicalPort, "after", 1)
	for i := range 10 {
		e.waitCached(model.TableLogicalPort, fmt.Sprintf("p%d", i), 1)
	}
	require.Equal(t, 1, e.h.resyncsOf(ReasonStart))
	require.Positive(t, e.h.resyncsOf("gap-seq")+e.h.resyncsOf("gap-heartbeat"))
	rs := c2.ResumeStats()
	require.EqualValues(t, 1, rs.Publishers)
	require.EqualValues(t, 1, rs.Fallbacks)
	require.Zero(t, rs.Replayed)
	e.h.checkOrder(t)
}

// A corrupt state file is ignored with a warning: a full sync, as without.
func TestCorruptStateFileMeansFullSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte("\x00garbage"), 0o600))
	e := newEnv(t, nil, func(c *Config) { c.StateFile = path })
	require.NoError(t, e.api.Create(t.Context(), lswitch("t1")))
	c := e.start()
	require.Equal(t, 1, e.h.resyncsOf(ReasonStart))
	require.False(t, c.ResumeStats().Loaded)
	e.waitCached(model.TableLogicalSwitch, "net-t1", 1)
	require.NoError(t, c.Close())
	got, why := loadState(path, "compute-1")
	require.Empty(t, why, "rewritten at Close")
	require.Contains(t, got.Tables[model.TableLogicalSwitch], "net-t1")
}

// [controller] state_file is the default of Config.StateFile.
func TestStateFileFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "from-config.json")
	e := newEnv(t, [][3]string{{config.GroupController, config.OptStateFile, path}}, nil)
	require.NoError(t, e.api.Create(t.Context(), lswitch("t1")))
	c := e.start()
	e.waitCached(model.TableLogicalSwitch, "net-t1", 1)
	require.NoError(t, c.Close())
	got, why := loadState(path, "compute-1")
	require.Empty(t, why, "written at Close to the configured path")
	require.Contains(t, got.Tables[model.TableLogicalSwitch], "net-t1")
}
