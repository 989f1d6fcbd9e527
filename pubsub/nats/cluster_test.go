package nats_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/pubsubtest"
)

// debianServer is the nats-server binary of Debian's nats-server package
// (2.9.10 on bookworm), installed by scripts/install-test-deps.sh.
const debianServer = "/usr/sbin/nats-server"

// natsProc is one nats-server process run by a test.
type natsProc struct {
	name        string
	clientURL   string
	clusterURL  string
	cmd         *exec.Cmd
	exited      chan struct{} // closed when the process has been reaped
	exitErr     error         // valid once exited is closed
	logPath     string
	portsPrefix string
}

// startDebianNode starts the Debian nats-server as cluster member name on
// loopback, with random client and route ports (-1) that it reports in a
// ports file in a t.TempDir(), soliciting routes to routes. It is killed
// and reaped at cleanup. A missing binary fails the test (never a skip).
func startDebianNode(t *testing.T, name string, routes ...string) *natsProc {
	t.Helper()
	if _, err := os.Stat(debianServer); err != nil {
		t.Fatalf("nats-server unavailable (%v): run ./scripts/install-test-deps.sh (Debian package nats-server)", err)
	}
	dir := t.TempDir()
	args := []string{
		"-a", "127.0.0.1", "-p", "-1", "-n", name,
		"--cluster", "nats://127.0.0.1:-1", "--cluster_name", "df-test",
		"--ports_file_dir", dir,
	}
	if len(routes) > 0 {
		args = append(args, "--routes", strings.Join(routes, ","))
	}
	logPath := filepath.Join(dir, "nats-server.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(debianServer, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start(), "start %s", debianServer)
	p := &natsProc{name: name, cmd: cmd, exited: make(chan struct{}), logPath: logPath,
		portsPrefix: filepath.Join(dir, fmt.Sprintf("nats-server_%d.ports", cmd.Process.Pid))}
	// The reaper: owned by the test, ends when the process exits (cleanup
	// kills it), and its error is kept in exitErr.
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	p.readPorts(t)
	t.Logf("nats-server %s: clients %s, routes %s", name, p.clientURL, p.clusterURL)
	return p
}

// readPorts waits for the server's ports file (written once its listeners
// are up) or for the process to exit, and reads the URLs from it.
func (p *natsProc) readPorts(t *testing.T) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		b, err := os.ReadFile(p.portsPrefix)
		if err == nil {
			var ports struct {
				Nats    []string `json:"nats"`
				Cluster []string `json:"cluster"`
			}
			if json.Unmarshal(b, &ports) == nil && len(ports.Nats) > 0 && len(ports.Cluster) > 0 {
				p.clientURL, p.clusterURL = ports.Nats[0], ports.Cluster[0]
				return
			}
		}
		select {
		case <-tick.C:
		case <-p.exited:
			log, _ := os.ReadFile(p.logPath)
			t.Fatalf("nats-server %s exited before it was ready: %v\n%s", p.name, p.exitErr, log)
		case <-deadline:
			log, _ := os.ReadFile(p.logPath)
			t.Fatalf("nats-server %s wrote no ports file %s within 10s\n%s", p.name, p.portsPrefix, log)
		}
	}
}

// stop terminates the process and waits until it is reaped.
func (p *natsProc) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("signal nats-server %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// TestConformanceCluster runs the pubsubtest suite against a two-node
// cluster of Debian's nats-server (routes on loopback): every publisher is
// a client of node A, every subscriber a client of node B, so every event
// crosses the route. Interest propagates over the route asynchronously;
// the suite's barriers wait for it.
func TestConformanceCluster(t *testing.T) {
	a := startDebianNode(t, "A")
	b := startDebianNode(t, "B", a.clusterURL)
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		return pubsubtest.Harness{
			Driver: testDriver(),
			PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{Hosts: []string{a.clientURL}}
			},
			SubscriberHosts: []string{b.clientURL},
		}
	})
	// Both are still running: nothing above passed by talking to one node.
	for _, p := range []*natsProc{a, b} {
		select {
		case <-p.exited:
			t.Fatalf("nats-server %s exited during the suite: %v", p.name, p.exitErr)
		default:
		}
	}
}

// TestClusterRoute: a subscriber connected to node B receives, exactly and
// in order, what a publisher connected to node A publishes.
func TestClusterRoute(t *testing.T) {
	a := startDebianNode(t, "A")
	b := startDebianNode(t, "B", a.clusterURL)
	d := testDriver()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 1, Hosts: []string{a.clientURL}, WireMode: model.WireV2})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	require.Equal(t, a.clientURL+"/publisher/p", p.Info().URI, "the publisher is a client of node A")
	c := newCollector()
	s, err := d.NewSubscriber(t.Context(), c.config([]string{b.clientURL}, "a.b"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: p.Info().URI}))

	// Interest crosses the route asynchronously: publish probes until one
	// arrives (later probes may still be on their way).
	last := publishUntil(t, p, c, "a.b", 0).Meta.Seq
	const n, base = 200, 1000
	for i := range n {
		require.NoError(t, p.Publish(t.Context(), update("a.b", base+i)))
	}
	for got := 0; got < n; {
		select {
		case ev := <-c.events:
			require.Equal(t, last+1, ev.Meta.Seq, "consecutive seqs")
			last = ev.Meta.Seq
			k, err := strconv.Atoi(ev.Update.Key)
			require.NoError(t, err)
			if k < base {
				require.Zero(t, got, "probe %d after a test event", k)
				continue
			}
			require.Equal(t, base+got, k, "test events in order")
			require.Equal(t, p.Info().URI, ev.Endpoint)
			got++
		case <-time.After(10 * time.Second):
			require.FailNow(t, "events missing", "got %d of %d", got, n)
		}
	}
	require.Empty(t, c.gaps, "no gap on a healthy route")
}
