package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/etcdtest"
	"github.com/dragonflow-go/dragonflow/internal/testutil"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/model"
)

// syncBuffer is safe to read while the command under test writes to it.
type syncBuffer = testutil.LockedBuffer

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "df.ini")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestHelp(t *testing.T) {
	var out syncBuffer
	err := run(t.Context(), []string{"--help"}, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"Usage: df-publisher-service", "-config-file", "publisher_multiproc_socket", "SIGTERM"} {
		require.Contains(t, out.String(), want)
	}
	require.ErrorContains(t, run(t.Context(), []string{"extra"}, &out), "unexpected arguments")
}

func TestConfigErrors(t *testing.T) {
	var out syncBuffer
	bad := writeConfig(t, "[neutron]\npublisher_port = abc\n")
	err := run(t.Context(), []string{"--config-file", bad}, &out)
	for _, want := range []string{bad, "neutron", "publisher_port", "abc"} {
		require.ErrorContains(t, err, want)
	}
	err = run(t.Context(), []string{"--config-file", filepath.Join(t.TempDir(), "missing.ini")}, &out)
	require.ErrorContains(t, err, "missing.ini")
	other := writeConfig(t, "[df]\npub_sub_driver = memory\n")
	require.ErrorContains(t, run(t.Context(), []string{"--config-file", other}, &out), "pub_sub_driver")
	nodb := writeConfig(t, "[df]\nnb_db_driver = nosuch\n")
	require.ErrorContains(t, run(t.Context(), []string{"--config-file", nodb}, &out), "nosuch")
}

// TestRunAndStop runs the service against an embedded etcd until its ctx
// ends (SIGTERM in main): it registered itself, and on exit its row and
// its socket are gone.
func TestRunAndStop(t *testing.T) {
	dir := t.TempDir()
	srv, db := etcdtest.StartDB(t)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	socket := filepath.Join(dir, "run", "publisher.sock")
	cfg := writeConfig(t, fmt.Sprintf(`[df]
remote_db_hosts = %s
publisher_timeout = 2
[neutron]
publisher_port = %d
publisher_binding_address = 127.0.0.1
publisher_multiproc_socket = %s
`, srv.Endpoints()[0], port, socket))

	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	res := make(chan error, 1)
	go func() { res <- run(ctx, []string{"--config-file", cfg, "--admin-listen", "127.0.0.1:0"}, &out) }()
	var row model.Publisher
	require.Eventually(t, func() bool {
		kvs, _, err := db.List(t.Context(), model.TablePublisher, "")
		if err != nil || len(kvs) != 1 {
			return false
		}
		return json.Unmarshal(kvs[0].Value, &row) == nil
	}, 10*time.Second, 5*time.Millisecond, out.String())
	require.Equal(t, model.RoleNeutronServer, row.Role)
	require.Equal(t, fmt.Sprintf("tcp://127.0.0.1:%d", port), row.URI)
	require.Equal(t, os.Getpid(), row.PID)
	_, err = os.Stat(socket)
	require.NoError(t, err)
	require.NotEmpty(t, row.Admin, "the row names the admin endpoint")
	var st admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), row.Admin, "/status", &st))
	require.Equal(t, "publisher-service", st.Role)
	require.Equal(t, row.URI, st.PublisherURI)
	require.True(t, st.Ready)
	metrics := httpGet(t, "http://"+row.Admin+"/metrics")
	require.Contains(t, metrics, "df_publisher_subscribers")
	require.Contains(t, metrics, `df_publisher_registered{driver="zmq",role="publisher-service"} 1`)

	cancel()
	select {
	case err := <-res:
		require.NoError(t, err, out.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
	kvs, _, err := db.List(t.Context(), model.TablePublisher, "")
	require.NoError(t, err)
	require.Empty(t, kvs, "the registration was revoked")
	_, err = os.Stat(socket)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Contains(t, out.String(), "publisher service running")
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}
