package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// forever stands for "no --timeout" (context.WithTimeout needs a bound).
const forever = 100 * 365 * 24 * time.Hour

func newEventsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Watch the events of the pub/sub fabric",
	}
	f := &subFlags{}
	var roles []string
	tail := &cobra.Command{
		Use:   "tail [--role ROLE]... [--topic TOPIC]... [--count N] [--json]",
		Short: "Discover the publishers of some roles and print their events as they arrive",
		Long: `Follow the NB DB publisher table, connect to every publisher of the given roles
(as a subscriber of that role would, connecting and disconnecting as publishers
come and go) and print each event: topic, table, action, key, publisher id,
epoch, seq and value. With --json, each event is one JSON object on a line
(with the publisher's role), and a summary object follows at the end.

Gaps — events known lost through sequence numbers, epochs, reconnects,
overflow — are printed on stderr as "GAP ..." as they are detected. The
pub/sub driver is [df] pub_sub_driver. Without --count and --timeout it runs
until interrupted; with --count N the exit status is 0 only if N events
arrived.`,
		Example: `  dfctl events tail
  dfctl events tail --role local-controller --topic listener_ --json
  dfctl events tail --role neutron-server --topic D --count 10 --timeout 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, r := range roles {
				if r != model.RoleNeutronServer && r != model.RoleLocalController {
					return fmt.Errorf("--role %q: want %s or %s", r, model.RoleNeutronServer, model.RoleLocalController)
				}
			}
			untimed := f.timeout <= 0
			if untimed {
				f.timeout = forever
			}
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			err := runSub(cmd.Context(), g, f, stdout, stderr, func(ctx context.Context, sc pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
				return startTail(ctx, g, roles, f, sc, stdout, stderr)
			})
			if err != nil && untimed && cmd.Context().Err() != nil {
				return fmt.Errorf("interrupted before %d events arrived", f.count)
			}
			return err
		},
	}
	fl := tail.Flags()
	fl.StringArrayVar(&roles, "role", []string{model.RoleNeutronServer, model.RoleLocalController},
		"role of the publishers to follow (repeatable)")
	fl.StringArrayVar(&f.topics, "topic", []string{model.DefaultTopic}, "topic to subscribe (repeatable; ZeroMQ matches by prefix)")
	fl.IntVar(&f.count, "count", 0, "exit after this many events (0: no limit)")
	fl.DurationVar(&f.timeout, "timeout", 0, "stop after this long (0: until interrupted)")
	fl.BoolVar(&f.json, "json", false, "print each event as a JSON line, then a summary")
	cmd.AddCommand(tail)
	return cmd
}

// tailSub is the subscriber of events tail with what it owns: the
// discovery that drives it and the NB DB connection.
type tailSub struct {
	pubsub.Subscriber
	disc *discovery.Discovery
	// discp is disc for the delivery goroutine, which may run before
	// Discover has returned.
	discp atomic.Pointer[discovery.Discovery]
	db    nb.Driver
	once  sync.Once
	err   error
}

// Close stops following the table, then the subscriber, then the NB DB.
func (t *tailSub) Close() error {
	t.once.Do(func() {
		_ = t.disc.Close()
		t.err = t.Subscriber.Close()
		_ = t.db.Close()
	})
	return t.err
}

// Stats passes the zmq subscriber's counters to runSub's summary.
func (t *tailSub) Stats() zmq.SubscriberStats {
	if s, ok := t.Subscriber.(interface{ Stats() zmq.SubscriberStats }); ok {
		return s.Stats()
	}
	return zmq.SubscriberStats{}
}

func startTail(ctx context.Context, g *globals, roles []string, f *subFlags, sc pubsub.SubscriberConfig,
	stdout, stderr io.Writer) (pubsub.Subscriber, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	df := cfg.DF()
	d, err := pubsub.Lookup(df.PubSubDriver)
	if err != nil {
		return nil, err
	}
	db, err := nb.Open(ctx, df.NBDBDriver, nb.Config{Hosts: df.RemoteDBHosts, Logger: g.logger()})
	if err != nil {
		return nil, err
	}
	t := &tailSub{db: db}
	if f.json {
		sc.OnEvent = jsonLines(sc.OnEvent, f.count, stdout, t)
	}
	s, err := d.NewSubscriber(ctx, sc)
	if err != nil {
		db.Close()
		return nil, err
	}
	t.Subscriber = s
	t.disc, err = discovery.Discover(ctx, db, s, roles, discovery.WithLogger(g.logger()))
	if err != nil {
		s.Close()
		db.Close()
		return nil, err
	}
	t.discp.Store(t.disc)
	pubs := t.disc.Publishers()
	fmt.Fprintf(stderr, "following %d publisher(s) of role %s, topics %s\n", len(pubs), strings.Join(roles, ","),
		strings.Join(f.topics, ","))
	for _, p := range pubs {
		fmt.Fprintf(stderr, "  %s %s %s\n", p.ID, p.Role, p.URI)
	}
	return t, nil
}

// eventLine is one event of events tail --json.
type eventLine struct {
	Publisher string  `json:"publisher"`
	Role      string  `json:"role,omitempty"`
	Epoch     uint64  `json:"epoch,omitempty"`
	Seq       uint64  `json:"seq,omitempty"`
	Topic     string  `json:"topic"`
	Table     string  `json:"table"`
	Key       string  `json:"key"`
	Action    string  `json:"action"`
	Value     *string `json:"value"`
}

// jsonLines prints each event as a JSON line (at most count, 0: all) and
// passes it on to next.
func jsonLines(next func(pubsub.Event), count int, w io.Writer, t *tailSub) func(pubsub.Event) {
	enc := json.NewEncoder(w)
	printed := 0
	return func(ev pubsub.Event) {
		next(ev)
		if count > 0 && printed >= count {
			return
		}
		printed++
		u := ev.Update
		line := eventLine{Publisher: ev.Meta.PublisherID, Epoch: ev.Meta.Epoch, Seq: ev.Meta.Seq,
			Topic: u.TopicOrDefault(), Table: u.Table, Key: u.Key, Action: u.Action, Role: t.role(ev.Meta.PublisherID)}
		if u.Value != nil {
			v := string(u.Value)
			line.Value = &v
		}
		_ = enc.Encode(line)
	}
}

// role is the role publisher id registered with, "" when unknown.
func (t *tailSub) role(id string) string {
	disc := t.discp.Load()
	if disc == nil || id == "" {
		return ""
	}
	for _, p := range disc.Publishers() {
		if p.ID == id {
			return p.Role
		}
	}
	return ""
}
