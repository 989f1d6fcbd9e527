package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/testutil"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
)

// syncBuffer is safe to read while the command under test writes to it.
type syncBuffer = testutil.LockedBuffer

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The all-in-one starts its NB DB, writes a config file other tools can use,
// reports changes in its status line, and stops cleanly on cancel.
func TestAIOStartsNBDBWritesConfigAndStops(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--db-only", "--data-dir", dir, "--db-addr", "127.0.0.1:0", "--status-interval", "20ms"}, &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "df-aio: ready") },
		30*time.Second, 10*time.Millisecond, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	require.Contains(t, stdout.String(), "the NB DB only (--db-only)", "says what runs")

	cfgPath := filepath.Join(dir, "dragonflow.ini")
	require.Contains(t, stdout.String(), cfgPath)
	cfg, err := config.Load([]string{cfgPath}, nil)
	require.NoError(t, err)
	hosts := cfg.DF().RemoteDBHosts
	require.Len(t, hosts, 2, "unix socket and loopback address")
	require.True(t, strings.HasPrefix(hosts[0], "unix://"), hosts[0])
	require.Regexp(t, regexp.MustCompile(`^127\.0\.0\.1:[1-9][0-9]*$`), hosts[1], "port 0 resolved")

	for _, ep := range hosts {
		db, err := etcd.New(ctx, etcd.Options{Endpoints: []string{ep}})
		require.NoError(t, err, ep)
		_, err = db.Put(ctx, "chassis", "c-"+fmt.Sprint(len(ep)), []byte(`{"id":"c"}`))
		require.NoError(t, err)
		require.NoError(t, db.Close())
	}
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "rows: chassis=2") },
		10*time.Second, 10*time.Millisecond, "status line follows the NB DB: %s", stdout.String())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("df-aio did not stop")
	}
	require.Contains(t, stdout.String(), "df-aio: stopping")
	require.NotContains(t, stderr.String(), "level=ERROR", "a normal stop is quiet")
}

func TestAIORestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"rows: empty", "rows: chassis=1"} {
		var stdout syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"--db-only", "--data-dir", dir, "--db-addr", "127.0.0.1:0", "--status-interval", "20ms"}, &stdout, os.Stderr)
		}()
		require.Eventually(t, func() bool { return strings.Contains(stdout.String(), want) },
			30*time.Second, 10*time.Millisecond, "run %d: %s", i, stdout.String())
		if i == 0 {
			cfg, err := config.Load([]string{filepath.Join(dir, "dragonflow.ini")}, nil)
			require.NoError(t, err)
			db, err := etcd.New(ctx, etcd.Options{Endpoints: cfg.DF().RemoteDBHosts})
			require.NoError(t, err)
			_, err = db.Put(ctx, "chassis", "c1", []byte(`{"id":"c1"}`))
			require.NoError(t, err)
			require.NoError(t, db.Close())
		}
		cancel()
		require.NoError(t, <-done)
	}
}

func TestAIOFlagErrors(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--db-addr", "nonsense"}, &bytes.Buffer{}, &stderr)
	require.ErrorContains(t, err, "--db-addr")

	err = run(context.Background(), []string{"--config-file", filepath.Join(t.TempDir(), "missing.ini")}, &bytes.Buffer{}, &stderr)
	require.ErrorContains(t, err, "missing.ini")
	for _, bad := range [][]string{{"--controllers", "0"}, {"--api-workers", "0"}, {"--rest-listen", "x"},
		{"--publisher-timeout", "10ms"}} {
		err = run(context.Background(), bad, &bytes.Buffer{}, &stderr)
		require.ErrorContains(t, err, bad[0])
	}

	stderr.Reset()
	err = run(context.Background(), []string{"--help"}, &bytes.Buffer{}, &stderr)
	require.Error(t, err)
	require.Contains(t, stderr.String(), "embedded NB DB", "--help explains what df-aio runs")
	require.Contains(t, stderr.String(), "-config-file")
}

func TestDefaultDBAddrFollowsConfig(t *testing.T) {
	require.Equal(t, "127.0.0.1:2379", defaultDBAddr([]string{"127.0.0.1:2379"}))
	require.Equal(t, "127.0.0.1:12379", defaultDBAddr([]string{"unix:///x.sock", "127.0.0.1:12379"}))
	require.Equal(t, "127.0.0.1:2379", defaultDBAddr([]string{"10.0.0.5:2379"}), "never binds a non-loopback address by default")
}
