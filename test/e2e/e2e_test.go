package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	_ "github.com/dragonflow-go/dragonflow/drivers"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/aio"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// The README's demo: network + port through REST, the port reaches
// compute-2's cache, port up → ACTIVE, down → DOWN, delete → gone.
func TestDemoScenario(t *testing.T) {
	a, out := startAIO(t, aio.Options{DBSyncTime: 10 * time.Minute})
	require.NoError(t, a.Demo(t.Context()), out.String())
	require.Contains(t, out.String(), "demo passed")
	t.Log("\n" + out.String())

	// dfctl status: every process, publishers and the neutron server's
	// listener, answers with its figures.
	js, err := dfctl(t, a, "status", "--json")
	require.NoError(t, err, js)
	var rows []struct {
		Status *admin.Status `json:"status"`
		Error  string        `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(js), &rows), js)
	roles := map[string]int{}
	for _, r := range rows {
		require.NotNil(t, r.Status, "every process answers: %s", r.Error)
		roles[r.Status.Role]++
	}
	require.Equal(t, map[string]int{"publisher-service": 1, "neutron-server": 1, "local-controller": 3}, roles)
	table, err := dfctl(t, a, "status")
	require.NoError(t, err, table)
	require.Contains(t, table, "LAST GAP")
	t.Log("\n" + table)
}

// Two neutron servers, each with its listener: the controllers spread the
// port-status events over both, and every port reaches ACTIVE.
func TestListenersSharePortStatusLoad(t *testing.T) {
	a, out := startAIO(t, aio.Options{NeutronServers: 2, Controllers: 1, DBSyncTime: 10 * time.Minute})
	api := a.RestAddr("neutron-1")
	net := create(t, api, "networks", "network", map[string]any{"name": "n", "project_id": "p1"})
	ctl := a.Process("compute-1")
	const ports = 20
	ids := make([]string, ports)
	for i := range ids {
		ids[i] = create(t, api, "ports", "port", map[string]any{"network_id": net, "project_id": "p1",
			"binding:host_id": "compute-1", "device_owner": "compute:nova", "name": fmt.Sprintf("p%d", i)})
	}
	for _, id := range ids {
		require.Eventually(t, func() bool { ok, _ := cacheHas(t.Context(), ctl, "lport", id); return ok },
			20*time.Second, 10*time.Millisecond, "port %s reaches compute-1", id)
		require.NoError(t, admin.PostJSON(t.Context(), ctl.Admin(), "/port", map[string]string{"port": id, "status": "up"}, nil))
	}
	for _, id := range ids {
		require.Eventually(t, func() bool { return portStatus(t, api, id) == "ACTIVE" },
			20*time.Second, 10*time.Millisecond, "port %s ACTIVE\n%s", id, out.String())
	}
	var total uint64
	for _, host := range []string{"neutron-1", "neutron-2"} {
		var st admin.Status
		require.NoError(t, admin.GetJSON(t.Context(), a.Process(host).Admin(), "/status", &st))
		t.Logf("%s applied %d port-status events", host, st.EventsIn)
		require.NotZero(t, st.EventsIn, "%s's listener got a share of the port-status events", host)
		total += st.EventsIn
	}
	require.GreaterOrEqual(t, total, uint64(ports), "every port-status event was applied by some listener")
}

// A controller killed with -9 disappears from dfctl publishers once its
// lease expires; the others stay.
func TestKilledControllerDisappears(t *testing.T) {
	a, _ := startAIO(t, aio.Options{Controllers: 3, PublisherTimeout: 2 * time.Second})
	hosts := func() map[string]bool {
		out, err := dfctl(t, a, "publishers", "--role", "local-controller", "--json")
		require.NoError(t, err, out)
		var rows []struct {
			Host string `json:"host"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
		m := map[string]bool{}
		for _, r := range rows {
			m[r.Host] = true
		}
		return m
	}
	require.Equal(t, map[string]bool{"compute-1": true, "compute-2": true, "compute-3": true}, hosts())
	victim := a.Process("compute-3")
	require.NoError(t, victim.Signal(syscall.SIGKILL))
	<-victim.Exited()
	killed := time.Now()
	require.Eventually(t, func() bool { return !hosts()["compute-3"] }, 20*time.Second, 100*time.Millisecond)
	t.Logf("compute-3 gone from dfctl publishers %s after kill -9 (lease TTL 2s)", time.Since(killed).Round(time.Millisecond))
	require.Equal(t, map[string]bool{"compute-1": true, "compute-2": true}, hosts())
}

// With the publisher service down the REST API keeps answering (the NB DB
// write is the truth); once the service is back, the controllers resync and
// hold what was written meanwhile — long before any periodic sync.
func TestAPIAnswersWhilePublisherServiceDown(t *testing.T) {
	a, out := startAIO(t, aio.Options{Controllers: 2, DBSyncTime: 10 * time.Minute})
	api := a.RestAddr("neutron-1")
	svc := a.Process("publisher-service")
	require.NoError(t, svc.Stop())

	began := time.Now()
	net := create(t, api, "networks", "network", map[string]any{"name": "while-down", "project_id": "p1"})
	port := create(t, api, "ports", "port", map[string]any{"network_id": net, "project_id": "p1",
		"binding:host_id": "compute-1"})
	var got map[string]map[string]any
	require.NoError(t, rest(t.Context(), api, http.MethodGet, "/v2.0/ports/"+port, nil, &got))
	require.Equal(t, port, got["port"]["id"])
	t.Logf("REST create network + port + show with the publisher service down: %s", time.Since(began).Round(time.Millisecond))

	require.NoError(t, svc.Restart())
	back := time.Now()
	for _, c := range []string{"compute-1", "compute-2"} {
		ctl := a.Process(c)
		require.Eventually(t, func() bool {
			okNet, _ := cacheHas(t.Context(), ctl, "lswitch", net)
			okPort, _ := cacheHas(t.Context(), ctl, "lport", port)
			return okNet && okPort
		}, 30*time.Second, 20*time.Millisecond, "%s resyncs once the publisher service is back\n%s", c, out.String())
	}
	t.Logf("controllers consistent %s after the publisher service restarted", time.Since(back).Round(time.Millisecond))
}

func portStatus(t *testing.T, api, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var got struct {
		Port struct {
			Status string `json:"status"`
		} `json:"port"`
	}
	if err := rest(ctx, api, http.MethodGet, "/v2.0/ports/"+id, nil, &got); err != nil {
		return "error: " + strings.TrimSpace(err.Error())
	}
	return got.Port.Status
}

// The spec's promise: port status and active port work for every driver.
// The demo scenario runs with pub_sub_driver set to each broker driver
// (df-aio starts nats-server / redis-server; etcd is the NB DB itself).
func TestDemoOnEveryDriver(t *testing.T) {
	for _, driver := range []string{"etcd", "nats", "redis"} {
		t.Run(driver, func(t *testing.T) {
			a, out := startAIO(t, aio.Options{PubSubDriver: driver, Controllers: 2, DBSyncTime: 10 * time.Minute})
			require.NoError(t, a.Demo(t.Context()), out.String())
			require.Contains(t, out.String(), "(pub/sub driver "+driver+")")
			t.Log("\n" + out.String())
		})
	}
}

// The whole system over ZMTP CURVE: the demo passes with every zmq socket
// encrypted and authenticated; a peer without a key gets nothing; a sync
// sent by an authenticated neutron-server is obeyed by the controllers.
func TestCurveDeployment(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"server", "client"} {
		out, err := exec.Command(binDir+"/dfctl", "curve", "keygen", filepath.Join(dir, k)).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	serverPub, err := os.ReadFile(filepath.Join(dir, "server.pub"))
	require.NoError(t, err)
	ini := filepath.Join(dir, "curve.ini")
	require.NoError(t, os.WriteFile(ini, []byte(fmt.Sprintf(`[df_zmq]
curve_enabled = true
curve_server_secret_key_file = %[1]s/server.key
curve_allowed_client_keys_file = %[1]s/client.pub
curve_secret_key_file = %[1]s/client.key
curve_server_public_key = %[2]s
`, dir, strings.TrimSpace(string(serverPub)))), 0o600))

	a, out := startAIO(t, aio.Options{ConfigFiles: []string{ini}, Controllers: 2, DBSyncTime: 10 * time.Minute})
	require.NoError(t, a.Demo(t.Context()), out.String())

	// A NULL peer is refused by the publisher service: nothing arrives.
	var svcURI string
	var st admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), a.Process("publisher-service").Admin(), "/status", &st))
	svcURI = st.PublisherURI
	sub, err := dfctl(t, a, "sub", "--connect", svcURI, "--topic", "D", "--count", "1", "--timeout", "2s")
	require.Error(t, err, "a subscriber without CURVE keys must get nothing: %s", sub)
	t.Logf("NULL subscriber against the CURVE publisher service: %s", strings.TrimSpace(sub))

	// An authenticated neutron-server's sync is obeyed by every controller.
	cfg, err := config.Load([]string{a.ConfigPath(), ini, filepath.Join(filepath.Dir(a.ConfigPath()), "conf", "neutron-server.ini")}, nil)
	require.NoError(t, err)
	api, err := nbapi.New(t.Context(), cfg, nbapi.RoleNeutronServer, nbapi.WithDB(a.DB()))
	require.NoError(t, err)
	defer api.Close()
	require.NoError(t, api.Publisher().Publish(t.Context(), model.DbUpdate{Action: model.ActionSync}))
	for _, c := range []string{"compute-1", "compute-2"} {
		require.Eventually(t, func() bool {
			m, err := httpGet(t.Context(), "http://"+a.Process(c).Admin()+"/metrics")
			return err == nil && strings.Contains(m, `df_controller_control_actions_total{action="sync",verdict="obeyed"} 1`)
		}, 20*time.Second, 20*time.Millisecond, "%s obeys the authenticated sync", c)
	}
}

func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
