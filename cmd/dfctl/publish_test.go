package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// publishConfig writes a configuration for ep with the given [neutron] and
// [controller] settings and returns its path and the loaded config.
func publishConfig(t *testing.T, ep, socket string, multiproc bool, controllerPort int) (string, *config.Config) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	neutronPort := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	path := filepath.Join(t.TempDir(), "df.ini")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, `[df]
remote_db_hosts = %s
publisher_timeout = 5
[neutron]
publisher_port = %d
publisher_binding_address = 127.0.0.1
publisher_multiproc_socket = %s
pub_sub_use_multiproc = %t
[controller]
publisher_port = %d
publisher_binding_address = 127.0.0.1
`, ep, neutronPort, socket, multiproc, controllerPort), 0o600))
	cfg, err := config.Load([]string{path}, nil)
	require.NoError(t, err)
	return path, cfg
}

// eventSink collects events.
type eventSink struct {
	mu  sync.Mutex
	evs []pubsub.Event
}

func (s *eventSink) add(ev pubsub.Event) {
	s.mu.Lock()
	s.evs = append(s.evs, ev)
	s.mu.Unlock()
}

func (s *eventSink) wait(t *testing.T, table string) pubsub.Event {
	t.Helper()
	var got pubsub.Event
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, ev := range s.evs {
			if ev.Update.Table == table {
				got = ev
				return true
			}
		}
		return false
	}, waitLong, 5*time.Millisecond)
	return got
}

func newSub(t *testing.T, sk *eventSink) pubsub.Subscriber {
	t.Helper()
	s, err := zmq.New().NewSubscriber(context.Background(), pubsub.SubscriberConfig{Topics: []string{"D"}, OnEvent: sk.add})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// TestPublishThroughPublisherService: neutron-server in multiproc mode
// pushes the event to the publisher service, which publishes it.
func TestPublishThroughPublisherService(t *testing.T) {
	ep := startNB(t)
	socket := filepath.Join(t.TempDir(), "run", "publisher.sock")
	path, cfg := publishConfig(t, ep, socket, true, 8867)
	settings, err := cfg.ForRole(config.RolePublisherService)
	require.NoError(t, err)
	svc, err := pubservice.New(context.Background(), pubservice.Config{DB: openNB(t, ep), Settings: settings})
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Close()) }()
	sk := &eventSink{}
	require.NoError(t, newSub(t, sk).RegisterPublisher(pubsub.Endpoint{PublisherID: svc.Info().ID, URI: svc.Info().URI}))
	require.Eventually(t, func() bool { return svc.Subscribers() == 1 }, waitLong, 5*time.Millisecond)
	waitSubscribed(t, func() zmq.PublisherStats { return svc.Stats().Pub }, "D")

	_, errOut, err := dfctl(t, "--config-file", path, "publish", "--role", "neutron-server",
		"--table", "lport", "--key", "p1", "--action", "update", "--value", "ACTIVE")
	require.NoError(t, err, errOut)
	require.Contains(t, errOut, "pushed update lport/p1")
	ev := sk.wait(t, "lport")
	require.Equal(t, model.DbUpdate{Table: "lport", Key: "p1", Action: "update", Value: []byte("ACTIVE"), Topic: "D"}, ev.Update)
	require.Equal(t, svc.Info().ID, ev.Meta.PublisherID, "published by the service")

	_, _, err = dfctl(t, "--config-file", path, "publish", "--role", "neutron-server", "--table", "x",
		"--action", "log", "--port", "0")
	require.ErrorContains(t, err, "pub_sub_use_multiproc")
}

// TestPublishWithoutService: no service listens on the socket: the command
// fails within --timeout and names the option.
func TestPublishWithoutService(t *testing.T) {
	ep := startNB(t)
	path, _ := publishConfig(t, ep, filepath.Join(t.TempDir(), "none.sock"), true, 8867)
	began := time.Now()
	_, _, err := dfctl(t, "--config-file", path, "publish", "--role", "neutron-server", "--table", "x",
		"--action", "log", "--timeout", "300ms")
	require.ErrorContains(t, err, "publisher_multiproc_socket")
	require.ErrorContains(t, err, "df-publisher-service")
	require.Less(t, time.Since(began), 5*time.Second)
}

// TestPublishAsLocalController: a local controller binds its own publisher
// and registers it; a discovery-driven subscriber of that role connects
// and gets the event; the row is gone afterwards.
func TestPublishAsLocalController(t *testing.T) {
	ep := startNB(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	path, _ := publishConfig(t, ep, filepath.Join(t.TempDir(), "unused.sock"), true, port)
	db := openNB(t, ep)
	sk := &eventSink{}
	disc, err := discovery.Discover(context.Background(), db, newSub(t, sk), []string{model.RoleLocalController})
	require.NoError(t, err)
	defer func() { require.NoError(t, disc.Close()) }()

	_, errOut, err := dfctl(t, "--config-file", path, "publish", "--role", "local-controller",
		"--table", "lport", "--key", "p9", "--action", "update", "--value", "DOWN", "--wait-subscribers", "1")
	require.NoError(t, err, errOut)
	require.Contains(t, errOut, fmt.Sprintf("registered as local-controller at tcp://127.0.0.1:%d", port))
	require.Contains(t, errOut, "to 1 subscriber(s), unregistered")
	ev := sk.wait(t, "lport")
	require.Equal(t, "p9", ev.Update.Key)
	require.Equal(t, []byte("DOWN"), ev.Update.Value)
	kvs, _, err := db.List(context.Background(), model.TablePublisher, "")
	require.NoError(t, err)
	for _, kv := range kvs {
		require.Equal(t, "pub-1", kv.Key, "only startNB's row is left")
	}

	// The port is taken: the error says so and how to pick another.
	l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	defer l.Close()
	_, _, err = dfctl(t, "--config-file", path, "publish", "--role", "local-controller", "--table", "x", "--action", "log")
	require.ErrorContains(t, err, "--port 0")
}

func TestPublishRejectsBadRole(t *testing.T) {
	_, _, err := dfctl(t, "publish", "--role", "publisher-service", "--table", "x", "--action", "log")
	require.ErrorContains(t, err, "publish as neutron-server")
	_, _, err = dfctl(t, "publish", "--role", "nope", "--table", "x", "--action", "log")
	require.ErrorContains(t, err, "--role")
	_, _, err = dfctl(t, "publish", "--role", "neutron-server")
	require.ErrorContains(t, err, "required")
}
