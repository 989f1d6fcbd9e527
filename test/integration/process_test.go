package integration

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/testutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// lockedBuffer is safe to read while the command under test writes to it.
type lockedBuffer = testutil.LockedBuffer

// child is a df-publisher-service process.
type child struct {
	cmd    *exec.Cmd
	socket string
	stderr lockedBuffer
	exited chan struct{}
	err    error // Wait's, set before exited closes
}

// startChild runs df-publisher-service with a config for env on a free
// port and a socket of its own. At cleanup it is stopped (SIGTERM, then
// SIGKILL) and its log is shown if the test failed.
func startChild(t *testing.T, env *nbEnv, host string) *child {
	t.Helper()
	socket := fmt.Sprintf("%s/run/%s.sock", env.dir, host)
	path, _ := env.write(t, hostConfig{host: host, neutronPort: freePort(t), socket: socket, multiproc: true,
		controllerPrt: freePort(t)})
	c := &child{socket: socket, exited: make(chan struct{})}
	c.cmd = exec.Command(serviceBin, "--config-file", path, "--admin-listen", "127.0.0.1:0")
	c.cmd.Stderr = &c.stderr
	require.NoError(t, c.cmd.Start())
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.stop(t, syscall.SIGTERM)
		if t.Failed() {
			t.Logf("df-publisher-service %s log:\n%s", host, c.stderr.String())
		}
	})
	return c
}

// stop sends sig and waits for the exit (SIGKILL after a while).
func (c *child) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(waitFor):
		_ = c.cmd.Process.Kill()
		<-c.exited
		t.Errorf("df-publisher-service did not exit on %v", sig)
	}
}

// row waits until the child has registered and returns its row.
func (c *child) row(t *testing.T, db nb.Driver) model.Publisher {
	t.Helper()
	var found model.Publisher
	require.Eventually(t, func() bool {
		for _, r := range rows(t, db) {
			if r.PID == c.cmd.Process.Pid {
				found = r
				return true
			}
		}
		return false
	}, waitFor, poll, "df-publisher-service never registered; log:\n%s", c.stderr.String())
	return found
}

// pushUntil pushes numbered events to the child's socket, as a worker
// named name, until the subscriber has one of them (it connects to a new
// publisher in the background).
func pushUntil(t *testing.T, c *child, sub *subscriber, name string) {
	t.Helper()
	w, err := fastZMQ().NewPublisher(t.Context(), pubsub.PublisherConfig{
		ID: name, Epoch: pubsub.NewEpoch(), ListenURI: "ipc://" + c.socket, Multiproc: true, PublishTimeout: time.Second,
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, w.Close()) }()
	fromWorker := func(ev pubsub.Event) bool { return strings.HasPrefix(ev.Update.Key, name+"-") }
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitFor)
	for i := 0; len(sub.Matching(fromWorker)) == 0; i++ {
		send(t, w, logEvent(fmt.Sprintf("%s-%d", name, i), ""))
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no event of %s arrived; log:\n%s", name, c.stderr.String())
		}
	}
}

// TestKilledServiceLeavesWithinTTL: kill -9 a registered
// df-publisher-service: its row is gone within the lease TTL, and the
// discovering subscriber unregisters it and disconnects.
func TestKilledServiceLeavesWithinTTL(t *testing.T) {
	env := startNB(t)
	db := env.dial(t)
	sub := discoverSub(t, db, []string{model.RoleNeutronServer}, model.DefaultTopic)
	a := startChild(t, env, "svc-a")
	row := a.row(t, db)
	assert.Equal(t, model.RoleNeutronServer, row.Role)
	pushUntil(t, a, sub, "to-a")
	require.True(t, sub.connected(row.ID))

	killed := time.Now()
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.exited
	require.Eventually(t, func() bool {
		_, present := rows(t, db)[row.ID]
		return !present
	}, ttl+5*time.Second, 20*time.Millisecond, "the row outlived its lease")
	gone := time.Since(killed)
	assert.Less(t, gone, ttl+2*time.Second, "row gone %s after kill -9 (TTL %s)", gone, ttl)
	require.Eventually(t, func() bool {
		return !slices.Contains(sub.publisherIDs(), row.ID) && !sub.registered(row.ID)
	}, waitFor, poll, "the subscriber still holds the killed service")
	t.Logf("row gone %s after kill -9, TTL %s", gone.Round(time.Millisecond), ttl)
}

// TestSecondServiceJoinsRunningSubscriber: a running discovery-driven
// subscriber connects to a second df-publisher-service when it starts and
// receives its events, without restart; a SIGTERM'd service leaves at once
// (its lease is revoked), long before the TTL.
func TestSecondServiceJoinsRunningSubscriber(t *testing.T) {
	env := startNB(t)
	db := env.dial(t)
	sub := discoverSub(t, db, []string{model.RoleNeutronServer}, model.DefaultTopic)
	a := startChild(t, env, "svc-a")
	rowA := a.row(t, db)
	pushUntil(t, a, sub, "to-a")

	b := startChild(t, env, "svc-b")
	rowB := b.row(t, db)
	require.NotEqual(t, rowA.URI, rowB.URI)
	pushUntil(t, b, sub, "to-b")
	fromB := sub.Matching(func(ev pubsub.Event) bool { return ev.Update.Table == "info" && ev.Meta.PublisherID == rowB.ID })
	require.NotEmpty(t, fromB, "events pushed to B arrive from B")
	assert.ElementsMatch(t, []string{rowA.ID, rowB.ID}, sub.publisherIDs())
	assert.True(t, sub.connected(rowA.ID) && sub.connected(rowB.ID))

	stopped := time.Now()
	b.stop(t, syscall.SIGTERM)
	require.NoError(t, b.err, b.stderr.String())
	require.Eventually(t, func() bool { return !sub.registered(rowB.ID) }, waitFor, poll)
	assert.Less(t, time.Since(stopped), ttl, "a clean stop revokes the lease: no wait for the TTL")
	assert.Contains(t, b.stderr.String(), "publisher unregistered")
	require.True(t, sub.connected(rowA.ID), "A is still followed")
	for _, g := range sub.Gaps() {
		assert.NotEqual(t, pubsub.GapReconnect, g.Reason, "no reconnect gap: %v", g)
	}
}

// TestServiceBinaryExitStatus: --help exits 0 and explains; a bad
// configuration exits 1 with a message naming the file and the key.
func TestServiceBinaryExitStatus(t *testing.T) {
	out, err := exec.Command(serviceBin, "--help").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "publisher_multiproc_socket")

	bad := t.TempDir() + "/bad.ini"
	require.NoError(t, os.WriteFile(bad, []byte("[neutron]\npublisher_port = 99999\n"), 0o600))
	out, err = exec.Command(serviceBin, "--config-file", bad).CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	for _, want := range []string{"df-publisher-service:", bad, "publisher_port", "99999"} {
		assert.Contains(t, string(out), want)
	}
}
