package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// publishFlags are the flags of dfctl publish.
type publishFlags struct {
	role     string
	update   model.DbUpdate
	value    string
	port     int
	waitSubs int
	timeout  time.Duration
}

func newPublishCmd(g *globals) *cobra.Command {
	f := &publishFlags{}
	cmd := &cobra.Command{
		Use:   "publish --role ROLE --table T --key K --action A [--value V] [--topic T]",
		Short: "Publish one event the way a process of ROLE would",
		Long: `Publish one DbUpdate with the publisher a process of ROLE builds from its
configuration section ([neutron] for neutron-server, [controller] for
local-controller):

  - pub_sub_use_multiproc = True (neutron-server's default): push it over
    ipc://publisher_multiproc_socket to the local df-publisher-service, which
    publishes it on the network. dfctl waits (--timeout) for the service to
    accept the connection and for the event to be written; it fails, naming
    the socket, when no service listens.
  - otherwise: bind a publisher on publisher_binding_address:publisher_port
    (--port overrides; 0 picks a free port), register it in the NB DB
    publisher table with the role, as the process would, and publish. A new
    publisher has no subscribers yet: --wait-subscribers N waits until N
    subscribers have subscribed a prefix of the topic (discovery-driven
    subscribers connect within moments). dfctl then waits until every
    subscriber's queue is empty and unregisters. The zmq PUB has no flush:
    an empty queue means the event was handed to the socket writer.

The event goes on --topic, or "D" when none is given; --value unset sends a
nil value (as a delete does). Control actions (sync, reinitialize, dbrestart)
are sent like any other; subscribers obey them only from authenticated
publishers of the right role.`,
		Example: `  dfctl publish --role neutron-server --table lport --key p1 --action set --value '{"id":"p1"}'
  dfctl publish --role local-controller --table lport --key p1 --action update --value ACTIVE \
      --topic listener_host1 --port 0 --wait-subscribers 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("value") {
				f.update.Value = []byte(f.value)
			}
			return runPublish(cmd.Context(), g, f, cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.role, "role", "", "role to publish as: neutron-server or local-controller (required)")
	fl.StringVar(&f.update.Table, "table", "", "event table (required)")
	fl.StringVar(&f.update.Key, "key", "", "event key")
	fl.StringVar(&f.update.Action, "action", "", "event action: create, set, delete, update, log, ... (required)")
	fl.StringVar(&f.value, "value", "", "event value (unset: nil)")
	fl.StringVar(&f.update.Topic, "topic", model.DefaultTopic, "event topic (frame and body)")
	fl.IntVar(&f.port, "port", -1, "bind this port instead of the role's publisher_port (0: any free port; not with multiproc)")
	fl.IntVar(&f.waitSubs, "wait-subscribers", 0, "bind mode: wait until this many subscribers of the topic are connected")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound of every wait: connection, subscribers, delivery")
	for _, name := range []string{"role", "table", "action"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runPublish(ctx context.Context, g *globals, f *publishFlags, stderr io.Writer) error {
	role, err := config.ParseRole(f.role)
	if err != nil {
		return fmt.Errorf("--role: %w", err)
	}
	if role == config.RolePublisherService {
		return fmt.Errorf("--role %s: the publisher service relays what neutron-server workers push; publish as %s",
			role, config.RoleNeutronServer)
	}
	if f.update.Topic == "" {
		f.update.Topic = model.DefaultTopic
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	s, err := cfg.ForRole(role)
	if err != nil {
		return err
	}
	d, err := pubsub.Lookup(s.PubSubDriver)
	if err != nil {
		return fmt.Errorf("[df] pub_sub_driver: %w", err)
	}
	mode, err := model.ParseWireMode(s.WireMode)
	if err != nil {
		return fmt.Errorf("[df] wire_mode: %w", err)
	}
	pc := pubsub.PublisherConfig{
		ID: discovery.NewID(string(s.RegisterAs), s.Host), Epoch: pubsub.NewEpoch(), Role: string(s.RegisterAs),
		WireMode: mode, PublishTimeout: f.timeout, Logger: g.logger(),
	}
	if s.UseMultiproc {
		if f.port >= 0 {
			return fmt.Errorf("--port: [%s] %s is true: %s pushes to the publisher service, it binds nothing",
				s.Section, config.OptPubSubUseMultiproc, role)
		}
		return publishPush(ctx, d, pc, s, f, stderr)
	}
	return g.withDB(ctx, func(ctx context.Context, db nb.Driver) error {
		return publishBind(ctx, d, db, pc, s, f, stderr)
	})
}

// publishPush sends the event through the publisher service's socket.
func publishPush(ctx context.Context, d pubsub.Driver, pc pubsub.PublisherConfig, s config.RoleSettings,
	f *publishFlags, stderr io.Writer) error {
	pc.ListenURI, pc.Multiproc = "ipc://"+s.MultiprocSocket, true
	p, err := d.NewPublisher(ctx, pc)
	if err != nil {
		return fmt.Errorf("[%s] %s: %w", s.Section, config.OptPublisherMultiprocSocket, err)
	}
	defer p.Close()
	if err := waitFor(ctx, f.timeout, func() bool { return subscribers(p) > 0 }); err != nil {
		return fmt.Errorf("no publisher service accepted %s within %s ([%s] %s; is df-publisher-service running?): %w",
			pc.ListenURI, f.timeout, s.Section, config.OptPublisherMultiprocSocket, err)
	}
	if err := p.Publish(ctx, f.update); err != nil {
		return err
	}
	if err := p.Close(); err != nil { // lingers until the queue is written
		return err
	}
	if st, ok := p.(interface{ Stats() zmq.PublisherStats }); ok && st.Stats().Dropped > 0 {
		return fmt.Errorf("the event was not written to %s: the publisher service went away", pc.ListenURI)
	}
	fmt.Fprintf(stderr, "pushed %s %s/%s on topic %q to the publisher service at %s as %s\n",
		f.update.Action, f.update.Table, f.update.Key, f.update.Topic, pc.ListenURI, pc.ID)
	return nil
}

// publishBind binds and registers a publisher of the role, publishes,
// waits until the subscribers' queues are empty and unregisters.
func publishBind(ctx context.Context, d pubsub.Driver, db nb.Driver, pc pubsub.PublisherConfig, s config.RoleSettings,
	f *publishFlags, stderr io.Writer) error {
	host, err := s.AdvertiseHost()
	if err != nil {
		return err
	}
	port := s.PublisherPort
	if f.port >= 0 {
		port = f.port
	}
	pc.AdvertiseHost = host
	pc.ListenURI = "tcp://" + net.JoinHostPort(s.BindAddress, strconv.Itoa(port))
	pc.Registrar = func(ctx context.Context, info pubsub.Info) (io.Closer, error) {
		return discovery.Register(ctx, db, discovery.PublisherInfo{
			ID: info.ID, Role: string(s.RegisterAs), URI: info.URI, Host: s.Host, PID: os.Getpid(), Epoch: info.Epoch,
		}, discovery.WithTTL(s.PublisherTimeout), discovery.WithTimestampRefresh(0), discovery.WithLogger(pc.Logger))
	}
	p, err := pubsub.Open(ctx, d, pc)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("bind %s ([%s] %s): the port is taken, by the %s itself? --port 0 binds a free one: %w",
				pc.ListenURI, s.Section, config.OptPublisherPort, s.Role, err)
		}
		return err
	}
	defer p.Close()
	fmt.Fprintf(stderr, "publisher %s registered as %s at %s\n", pc.ID, s.RegisterAs, p.Info().URI)
	topic := f.update.Topic
	if f.waitSubs > 0 {
		err := waitFor(ctx, f.timeout, func() bool { return subscribedTo(p, topic) >= f.waitSubs })
		if err != nil {
			return fmt.Errorf("--wait-subscribers %d: %d subscribed to %q within %s: %w",
				f.waitSubs, subscribedTo(p, topic), topic, f.timeout, err)
		}
	}
	reached := subscribedTo(p, topic)
	if err := p.Publish(ctx, f.update); err != nil {
		return err
	}
	if err := waitFor(ctx, f.timeout, func() bool { return queued(p) == 0 }); err != nil {
		return fmt.Errorf("subscribers did not take the event within %s: %w", f.timeout, err)
	}
	if err := p.Close(); err != nil {
		return err
	}
	if reached == 0 {
		fmt.Fprintln(stderr, "warning: no subscriber of the topic was connected; the event reached nobody (see --wait-subscribers)")
	}
	fmt.Fprintf(stderr, "published %s %s/%s on topic %q to %d subscriber(s), unregistered\n",
		f.update.Action, f.update.Table, f.update.Key, topic, reached)
	return nil
}

// zmqStats are the counters of the zmq PUB or PUSH behind p, if that is
// what it is.
func zmqStats(p pubsub.Publisher) (zmq.PublisherStats, bool) {
	if s, ok := pubsub.Unwrap(p).(interface{ Stats() zmq.PublisherStats }); ok {
		return s.Stats(), true
	}
	return zmq.PublisherStats{}, false
}

// subscribers is the publisher's connection count, -1 when it cannot tell.
func subscribers(p pubsub.Publisher) int {
	if sc, ok := pubsub.Unwrap(p).(pubsub.SubscriberCounter); ok {
		return sc.Subscribers()
	}
	return -1
}

// subscribedTo counts the subscribers whose subscriptions match topic
// (ZeroMQ prefix match); without zmq counters, the connections.
func subscribedTo(p pubsub.Publisher, topic string) int {
	st, ok := zmqStats(p)
	if !ok {
		return subscribers(p)
	}
	n := 0
	for _, c := range st.Conns {
		for _, sub := range c.Subscriptions {
			if strings.HasPrefix(topic, sub) {
				n++
				break
			}
		}
	}
	return n
}

// queued is the number of messages waiting in the subscribers' queues.
func queued(p pubsub.Publisher) int {
	st, _ := zmqStats(p)
	n := 0
	for _, c := range st.Conns {
		n += c.Queued
	}
	return n
}

// waitFor polls cond until it holds, for at most timeout.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
