package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/controller"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// startController starts a local controller of host on the NB DB at ep,
// in-process, and returns the config file that finds that NB DB.
func startController(t *testing.T, ep, host string) (*controller.Controller, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	path := filepath.Join(t.TempDir(), "df.ini")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`[DEFAULT]
host = %s
[df]
remote_db_hosts = %s
publisher_timeout = 5
[controller]
publisher_port = %d
publisher_binding_address = 127.0.0.1
admin_listen = 127.0.0.1:0
`, host, ep, port)), 0o600))
	cfg, err := config.Load([]string{path}, nil)
	require.NoError(t, err)
	c, err := controller.New(t.Context(), controller.Config{Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c, path
}

func TestPortUpDownAgainstController(t *testing.T) {
	ep := startNB(t)
	c, cfg := startController(t, ep, "compute-1")
	db := openNB(t, ep)

	out, _, err := dfctl(t, "--config-file", cfg, "port", "up", "--host", "compute-1", "--port", "p1")
	require.NoError(t, err)
	require.Equal(t, "port p1 on compute-1: ACTIVE (portstatus version 1), no live listener: written to the NB DB only\n", out)
	require.Equal(t, []string{"p1"}, c.LocalPorts())

	lease, err := db.Grant(t.Context(), 30*time.Second)
	require.NoError(t, err)
	_, err = db.Create(t.Context(), model.TableListener, "api-1", []byte(`{"id":"api-1","ppid":1,"timestamp":1}`), nb.WithLease(lease))
	require.NoError(t, err)
	out, _, err = dfctl(t, "--config-file", cfg, "port", "down", "--host", "compute-1", "--port", "p1", "--json")
	require.NoError(t, err)
	var res portsource.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, portsource.Result{Port: "p1", Status: "DOWN", Listener: "api-1", Version: 2}, res)
	kv, err := db.Get(t.Context(), model.TablePortStatus, "p1")
	require.NoError(t, err)
	require.Contains(t, string(kv.Value), `"status":"DOWN"`)
	require.Empty(t, c.LocalPorts())

	_, _, err = dfctl(t, "--config-file", cfg, "port", "up", "--host", "compute-9", "--port", "p1")
	require.EqualError(t, err, "no local controller registered for host compute-9; registered: compute-1")
	_, _, err = dfctl(t, "--config-file", cfg, "port", "up", "--host", "compute-1", "--port", "nosuch")
	require.ErrorContains(t, err, "404")
	require.ErrorContains(t, err, `unknown port "nosuch"`)
	_, _, err = dfctl(t, "--config-file", cfg, "port", "up", "--port", "p1")
	require.EqualError(t, err, "--host is required")
	_, _, err = dfctl(t, "--config-file", cfg, "port", "up", "--host", "compute-1")
	require.EqualError(t, err, "--port is required")
}

func TestPortWithoutControllers(t *testing.T) {
	ep := startNB(t)
	_, _, err := dfctl(t, "--remote-db-hosts", ep, "port", "up", "--host", "compute-1", "--port", "p1")
	require.EqualError(t, err, "no local controller registered for host compute-1; registered: none")
}
