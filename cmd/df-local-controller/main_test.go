package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/etcdtest"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "df.ini")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestHelp(t *testing.T) {
	var out, errb testutil.LockedBuffer
	err := run(t.Context(), []string{"--help"}, &out, &errb)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"Usage: df-local-controller", "-config-file", "-admin-listen", "-log-level",
		"subscribe_roles", "db_sync_time", "/cache", "SIGTERM"} {
		require.Contains(t, errb.String(), want)
	}
	require.ErrorContains(t, run(t.Context(), []string{"extra"}, &out, &errb), "unexpected arguments")
	require.ErrorContains(t, run(t.Context(), []string{"--log-level", "loud"}, &out, &errb), "--log-level")
}

func TestConfigErrors(t *testing.T) {
	var out, errb testutil.LockedBuffer
	bad := writeConfig(t, "[controller]\npublisher_port = abc\n")
	err := run(t.Context(), []string{"--config-file", bad}, &out, &errb)
	for _, want := range []string{bad, "controller", "publisher_port", "abc"} {
		require.ErrorContains(t, err, want)
	}
	nodb := writeConfig(t, "[df]\nnb_db_driver = nosuch\n")
	require.ErrorContains(t, run(t.Context(), []string{"--config-file", nodb, "--admin-listen", "127.0.0.1:0"}, &out, &errb), "nosuch")
}

// TestRunAndStop runs the controller against an embedded etcd until its
// ctx ends (SIGTERM in main): it registered its publisher and chassis,
// printed its ready line, served its admin endpoint; on exit its
// publisher row is gone.
func TestRunAndStop(t *testing.T) {
	srv, db := etcdtest.StartDB(t)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cfg := writeConfig(t, fmt.Sprintf(`[DEFAULT]
host = compute-7
[df]
remote_db_hosts = %s
publisher_timeout = 2
[controller]
publisher_port = %d
publisher_binding_address = 127.0.0.1
`, srv.Endpoints()[0], port))

	ctx, cancel := context.WithCancel(t.Context())
	var out, errb testutil.LockedBuffer
	res := make(chan error, 1)
	go func() { res <- run(ctx, []string{"--config-file", cfg, "--admin-listen", "127.0.0.1:0"}, &out, &errb) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "\n") }, 10*time.Second, 5*time.Millisecond, errb.String())
	line := out.String()
	require.Regexp(t, fmt.Sprintf(`^df-local-controller compute-7: publisher tcp://127\.0\.0\.1:%d, admin 127\.0\.0\.1:\d+\n$`, port), line)

	kvs, _, err := db.List(t.Context(), model.TablePublisher, "")
	require.NoError(t, err)
	require.Len(t, kvs, 1)
	var row model.Publisher
	require.NoError(t, json.Unmarshal(kvs[0].Value, &row))
	require.Equal(t, model.RoleLocalController, row.Role)
	require.Equal(t, "compute-7", row.Host)
	require.Contains(t, line, "admin "+row.Admin)
	var st admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), row.Admin, "/status", &st))
	require.Equal(t, "local-controller", st.Role)
	require.True(t, st.Ready)
	_, err = db.Get(t.Context(), model.TableChassis, "compute-7")
	require.NoError(t, err)

	cancel()
	select {
	case err := <-res:
		require.NoError(t, err, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
	kvs, _, err = db.List(t.Context(), model.TablePublisher, "")
	require.NoError(t, err)
	require.Empty(t, kvs, "the registration was revoked")
	require.Contains(t, errb.String(), "local controller running")
}
