package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// binPath is the df-neutron-server binary built by TestMain.
var binPath string

const wait, poll = 20 * time.Second, 20 * time.Millisecond

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "df-neutron-server-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "df-neutron-server")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build df-neutron-server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestHelpAndFlagErrors(t *testing.T) {
	var out, errb bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"--help"}, &out, &errb))
	help := errb.String()
	for _, want := range []string{"Usage:", "--config-file", "--api-listen", "--api-workers", "--admin-listen",
		"--log-level", "listener_<host>", "SIGTERM", "publisher_port+i"} {
		require.Contains(t, help, want)
	}
	require.NotContains(t, help, "--worker", "the worker flag is hidden")
	require.ErrorContains(t, run(t.Context(), []string{"extra"}, &out, &errb), "unknown command")
	require.ErrorContains(t, run(t.Context(), []string{"--log-level", "loud"}, &out, &errb), "--log-level")
	require.ErrorContains(t, run(t.Context(), []string{"--api-workers", "0"}, &out, &errb), "api_workers")
	bad := filepath.Join(t.TempDir(), "bad.ini")
	require.NoError(t, os.WriteFile(bad, []byte("[neutron]\napi_listen = nope\n"), 0o600))
	err := run(t.Context(), []string{"--config-file", bad}, &out, &errb)
	require.ErrorContains(t, err, "api_listen")
	require.ErrorContains(t, err, bad)
	require.Equal(t, []string{"--config-file", "a", "--api-workers=2"},
		workerArgs([]string{"--config-file", "a", "--worker", "3", "--api-workers=2", "--worker=4"}))
}

// cluster is an embedded etcd and a publisher service, in process.
type cluster struct {
	dir string
	db  nb.Driver
	svc *pubservice.Service
	cfg string // config file for the daemon
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	srv, err := embedded.Start(t.Context(), embedded.Config{
		DataDir: filepath.Join(dir, "etcd"), ClientSocket: filepath.Join(dir, "etcd.sock"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	db, err := etcd.New(t.Context(), etcd.Options{Endpoints: srv.Endpoints()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	socket := filepath.Join(dir, "pub.sock")
	body := fmt.Sprintf(`[DEFAULT]
host = node1
[df]
remote_db_hosts = %s
publisher_timeout = 2
management_ip = 127.0.0.1
[neutron]
publisher_binding_address = 127.0.0.1
publisher_multiproc_socket = %s
`, srv.Endpoints()[0], socket)
	cfgPath := filepath.Join(dir, "df.ini")
	require.NoError(t, os.WriteFile(cfgPath, []byte(body), 0o600))
	cfg, err := config.Load(config.FileList{cfgPath}, nil)
	require.NoError(t, err)
	settings, err := cfg.ForRole(config.RolePublisherService)
	require.NoError(t, err)
	settings.PublisherPort = 0
	svc, err := pubservice.New(t.Context(), pubservice.Config{DB: db, Settings: settings})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Close()) })
	return &cluster{dir: dir, db: db, svc: svc, cfg: cfgPath}
}

// daemon is a running df-neutron-server.
type daemon struct {
	cmd    *exec.Cmd
	rest   string
	admin  string
	stderr *testutil.LockedBuffer
	waitc  chan error
}

var readyLine = regexp.MustCompile(`^df-neutron-server: REST on http://(\S+), admin on (\S+), (\d+) workers$`)

func startDaemon(t *testing.T, c *cluster, workers int) *daemon {
	t.Helper()
	cmd := exec.Command(binPath, "--config-file", c.cfg, "--api-workers", fmt.Sprint(workers),
		"--api-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	d := &daemon{cmd: cmd, stderr: &testutil.LockedBuffer{}, waitc: make(chan error, 1)}
	cmd.Stderr = d.stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		d.waitc <- cmd.Wait()
	}()
	t.Cleanup(func() { d.stop(t) })
	select {
	case line := <-lines:
		m := readyLine.FindStringSubmatch(line)
		require.NotNil(t, m, "ready line %q", line)
		d.rest, d.admin = m[1], m[2]
		require.Equal(t, fmt.Sprint(workers), m[3])
	case <-time.After(wait):
		t.Fatalf("not ready within %v:\n%s", wait, d.stderr.String())
	}
	return d
}

// stop sends SIGTERM and waits for the exit; idempotent.
func (d *daemon) stop(t *testing.T) error {
	t.Helper()
	if d.cmd.ProcessState != nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.waitc:
		return err
	case <-time.After(wait):
		_ = d.cmd.Process.Kill()
		t.Errorf("df-neutron-server did not stop within %v:\n%s", wait, d.stderr.String())
		return <-d.waitc
	}
}

func (d *daemon) status(t *testing.T) admin.Status {
	t.Helper()
	var st admin.Status
	require.NoError(t, admin.GetJSON(t.Context(), d.admin, "/status", &st))
	return st
}

// workerPIDs are the pids of the ready workers in /status.
func (d *daemon) workerPIDs(t *testing.T) []int {
	st := d.status(t)
	var pids []int
	for _, w := range st.Detail["workers"].([]any) {
		w := w.(map[string]any)
		if w["ready"] == true {
			pids = append(pids, int(w["pid"].(float64)))
		}
	}
	return pids
}

// request sends one request on a new connection and returns the status,
// the answering worker and the body.
func request(t *testing.T, method, url, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, resp.Header.Get("X-DF-Worker"), out
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestDaemonWorkersListenerAndStop(t *testing.T) {
	c := newCluster(t)
	d := startDaemon(t, c, 2)
	base := "http://" + d.rest

	// Both workers answer on the one socket.
	seen := map[string]bool{}
	require.Eventually(t, func() bool {
		_, w, _ := request(t, "GET", base+"/v2.0/networks", "")
		seen[w] = true
		return len(seen) == 2
	}, wait, time.Millisecond, "distinct X-DF-Worker values: %v", seen)
	st := d.status(t)
	require.Equal(t, "neutron-server", st.Role)
	require.Equal(t, "node1", st.Host)
	require.True(t, st.Ready)
	require.Len(t, d.workerPIDs(t), 2)

	// A write goes to etcd and out through the publisher service.
	code, _, body := request(t, "POST", base+"/v2.0/networks", `{"network": {"name": "n1"}}`)
	require.Equal(t, 201, code, body)
	netID := body["network"].(map[string]any)["id"].(string)
	_, err := c.db.Get(t.Context(), model.TableLogicalSwitch, netID)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.svc.Stats().Relayed >= 1 }, wait, poll)
	require.Eventually(t, func() bool { return d.status(t).EventsOut == 1 }, wait, poll, "worker counters reach the main process")
	resp, err := http.Get("http://" + d.admin + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(metrics), `df_neutron_api_requests_total{code="201",method="POST",resource="networks"} 1`)
	require.Contains(t, string(metrics), "df_neutron_listener_reconciles_total")

	// The listener row is there, on a lease.
	kv, err := c.db.Get(t.Context(), model.TableListener, "node1")
	require.NoError(t, err)
	require.NotZero(t, kv.Lease)

	// A local controller on node1 (a real zmq publisher, discovered from
	// the publisher table) reports a port ACTIVE, then DOWN.
	code, _, body = request(t, "POST", base+"/v2.0/subnets",
		fmt.Sprintf(`{"subnet": {"network_id": %q, "cidr": "10.0.0.0/24", "ip_version": 4}}`, netID))
	require.Equal(t, 201, code, body)
	code, _, body = request(t, "POST", base+"/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID))
	require.Equal(t, 201, code, body)
	portID := body["port"].(map[string]any)["id"].(string)
	ctl := startController(t, c)
	portStatus := func() string {
		_, _, body := request(t, "GET", base+"/v2.0/ports/"+portID, "")
		return body["port"].(map[string]any)["status"].(string)
	}
	report := func(status string, version int64) {
		data, _ := json.Marshal(&model.PortStatus{ID: portID, Topic: "admin", Status: status, Chassis: "node1", Version: version})
		_, err := c.db.Put(t.Context(), model.TablePortStatus, portID, data)
		require.NoError(t, err)
		require.NoError(t, ctl.Publish(t.Context(), model.DbUpdate{Table: "lport", Key: portID, Action: "update",
			Value: []byte(status), Topic: model.ListenerTopic("node1")}))
	}
	report(model.PortStatusActive, 1)
	require.Eventually(t, func() bool { return portStatus() == "ACTIVE" }, wait, poll)
	require.Eventually(t, func() bool { return pubsub.Unwrap(ctl).(pubsub.SubscriberCounter).Subscribers() == 1 }, wait, poll)
	report(model.PortStatusDown, 2)
	require.Eventually(t, func() bool { return portStatus() == "DOWN" }, wait, poll)
	require.Eventually(t, func() bool { return d.status(t).EventsIn >= 1 }, wait, poll, "the event path, not only reconciles")

	// A killed worker is restarted.
	pids := d.workerPIDs(t)
	require.NoError(t, syscall.Kill(pids[0], syscall.SIGKILL))
	require.Eventually(t, func() bool {
		now := d.workerPIDs(t)
		return len(now) == 2 && now[0] != pids[0] && now[1] == pids[1]
	}, wait, poll, "restarted:\n%s", d.stderr.String())
	require.Contains(t, d.stderr.String(), "worker exited; restarting")
	restarted := fmt.Sprint(d.workerPIDs(t)[0])
	require.Eventually(t, func() bool {
		_, w, _ := request(t, "GET", base+"/v2.0/networks", "")
		return w == restarted
	}, wait, time.Millisecond)

	// SIGTERM: workers first, then the main process; no child survives and
	// the listener row is revoked.
	pids = d.workerPIDs(t)
	require.NoError(t, d.stop(t), d.stderr.String())
	for _, pid := range pids {
		require.False(t, alive(pid), "worker %d outlived the main process", pid)
	}
	_, err = c.db.Get(t.Context(), model.TableListener, "node1")
	require.ErrorIs(t, err, nb.ErrNotFound)
}

// startController binds a zmq publisher like a local controller's and
// registers it with role local-controller.
func startController(t *testing.T, c *cluster) pubsub.Publisher {
	t.Helper()
	reg := func(ctx context.Context, info pubsub.Info) (io.Closer, error) {
		return discoveryRegister(ctx, c.db, info)
	}
	p, err := pubsub.Open(t.Context(), zmq.New(), pubsub.PublisherConfig{
		ID: "ctl-node1", Epoch: pubsub.NewEpoch(), Role: model.RoleLocalController,
		ListenURI: "tcp://127.0.0.1:0", AdvertiseHost: "127.0.0.1", Registrar: reg,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func TestWorkersDieWithTheMainProcess(t *testing.T) {
	c := newCluster(t)
	d := startDaemon(t, c, 2)
	pids := d.workerPIDs(t)
	require.Len(t, pids, 2)
	require.NoError(t, d.cmd.Process.Kill())
	<-d.waitc
	require.Eventually(t, func() bool { return !alive(pids[0]) && !alive(pids[1]) }, wait, poll,
		"Pdeathsig / parent check stops orphaned workers")
}
