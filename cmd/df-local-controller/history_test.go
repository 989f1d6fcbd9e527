package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/etcdtest"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

func readHistory(t *testing.T, path string) []HistoryLine {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []HistoryLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l HistoryLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
		out = append(out, l)
	}
	require.NoError(t, sc.Err())
	return out
}

// --history-file: a start line, the start resync, and one line per
// delivered event with its outcome, appended by a second run.
func TestHistoryFile(t *testing.T) {
	dir := t.TempDir()
	srv, db := etcdtest.StartDB(t)
	port := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	body := fmt.Sprintf(`[DEFAULT]
host = compute-9
[df]
remote_db_hosts = %s
publisher_timeout = 2
[controller]
publisher_port = %d
publisher_binding_address = 127.0.0.1
[neutron]
publisher_port = %d
publisher_binding_address = 127.0.0.1
pub_sub_use_multiproc = False
`, srv.Endpoints()[0], port(), port())
	cfgPath := writeConfig(t, body)
	cfg, err := config.Load(config.FileList{cfgPath}, nil)
	require.NoError(t, err)
	server, err := nbapi.New(t.Context(), cfg, config.RoleNeutronServer, nbapi.WithDB(db))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, server.Close()) })

	hist := filepath.Join(dir, "history.jsonl")
	runOnce := func(do func()) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var out, errb testutil.LockedBuffer
		res := make(chan error, 1)
		go func() {
			res <- run(ctx, []string{"--config-file", cfgPath, "--admin-listen", "127.0.0.1:0", "--history-file", hist}, &out, &errb)
		}()
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "\n") }, 10*time.Second, 5*time.Millisecond, errb.String())
		do()
		cancel()
		select {
		case err := <-res:
			require.NoError(t, err, errb.String())
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return")
		}
	}
	applied := func() int {
		n := 0
		for _, l := range readHistory(t, hist) {
			if l.Kind == "event" && l.Table == model.TableLogicalSwitch && l.Outcome == "applied" {
				n++
			}
		}
		return n
	}
	runOnce(func() {
		// The controller connects through discovery; publish until it
		// has applied one event (the first may precede its subscription).
		require.Eventually(t, func() bool {
			sw := &model.LogicalSwitch{ID: fmt.Sprintf("net-%d", time.Now().UnixNano()), Version: 1}
			err := server.Create(t.Context(), sw)
			return err == nil && applied() > 0 || errors.Is(err, context.Canceled)
		}, 20*time.Second, 50*time.Millisecond)
	})
	lines := readHistory(t, hist)
	require.Equal(t, "start", lines[0].Kind)
	require.Equal(t, os.Getpid(), lines[0].PID)
	require.Equal(t, "compute-9", lines[0].Host)
	var sawResync, sawEvent bool
	for _, l := range lines {
		require.False(t, l.T.IsZero())
		switch l.Kind {
		case "resync":
			sawResync = sawResync || l.Reason == "start"
		case "event":
			if l.Table == model.TableLogicalSwitch {
				sawEvent = true
				require.Equal(t, server.Publisher().Info().ID, l.Pub)
				require.NotZero(t, l.Seq)
				require.Equal(t, "D", l.Topic)
				require.Equal(t, "create", l.Action)
				require.EqualValues(t, 1, l.Version)
			}
		}
	}
	require.True(t, sawResync && sawEvent, "%+v", lines)

	runOnce(func() {})
	starts := 0
	for _, l := range readHistory(t, hist) {
		if l.Kind == "start" {
			starts++
		}
	}
	require.Equal(t, 2, starts, "a second run appends")

	var out, errb testutil.LockedBuffer
	require.ErrorContains(t, run(t.Context(), []string{"--config-file", cfgPath, "--history-file", filepath.Join(dir, "no", "such", "dir")}, &out, &errb), "--history-file")
}
