package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// pubFlags are the flags of pub and push.
type pubFlags struct {
	driver      string
	topic       string
	count       int
	rate        float64
	waitSubs    int
	waitTimeout time.Duration
	strict      bool
	update      model.DbUpdate
	value       string
}

func (f *pubFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.driver, "driver", "zmq", "pub/sub driver")
	fl.StringVar(&f.topic, "topic", model.DefaultTopic, "topic of the events (frame and body)")
	fl.IntVar(&f.count, "count", 1, "number of events to send")
	fl.Float64Var(&f.rate, "rate", 0, "events per second (0: as fast as possible)")
	fl.BoolVar(&f.strict, "strict", false, "send Dragonflow's exact 5-key body, without the v2 extension keys")
	fl.StringVar(&f.update.Table, "table", "info", "event table")
	fl.StringVar(&f.update.Key, "key", "dfctl", "event key (a sequence number is appended when --count > 1)")
	fl.StringVar(&f.update.Action, "action", model.ActionLog, "event action")
	fl.StringVar(&f.value, "value", "hello from dfctl", "event value")
}

func newPubCmd(g *globals) *cobra.Command {
	f := &pubFlags{}
	var bind string
	cmd := &cobra.Command{
		Use:   "pub --bind URI",
		Short: "Bind a publisher and send events (debug a deployment, feed a test)",
		Long: `Bind a publisher on URI (tcp://HOST:PORT, tcp://*:PORT, ipc:///PATH) and send
--count events, optionally paced by --rate and after --wait-subscribers
subscribers have connected. Bodies are Dragonflow's msgpack map; without
--strict they also carry publisher id, epoch and sequence numbers.`,
		Example: `  dfctl pub --bind tcp://127.0.0.1:5555 --wait-subscribers 1 --count 100
  dfctl pub --bind tcp://*:8866 --table lport --key p1 --action update --value ACTIVE --topic listener_host1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPub(cmd.Context(), g, f, pubsub.PublisherConfig{ListenURI: bind}, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&bind, "bind", "", "URI to bind (required)")
	_ = cmd.MarkFlagRequired("bind")
	f.register(cmd)
	cmd.Flags().IntVar(&f.waitSubs, "wait-subscribers", 0, "wait until this many subscribers are connected before sending")
	cmd.Flags().DurationVar(&f.waitTimeout, "wait-timeout", 30*time.Second, "give up waiting for subscribers after this long")
	return cmd
}

func newPushCmd(g *globals) *cobra.Command {
	f := &pubFlags{}
	var connect string
	cmd := &cobra.Command{
		Use:   "push --connect URI",
		Short: "Connect a PUSH socket (the multiproc path) and send events",
		Long: `Connect to a PULL socket at URI (normally the publisher service's
ipc:///PATH) and send --count events, as an API worker does.`,
		Example: `  dfctl push --connect ipc:///var/run/dragonflow/publisher.sock --count 10`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPub(cmd.Context(), g, f, pubsub.PublisherConfig{ListenURI: connect, Multiproc: true}, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&connect, "connect", "", "URI to connect to (required)")
	_ = cmd.MarkFlagRequired("connect")
	f.register(cmd)
	return cmd
}

func runPub(ctx context.Context, g *globals, f *pubFlags, pc pubsub.PublisherConfig, stderr io.Writer) error {
	if f.count < 1 {
		return fmt.Errorf("--count must be at least 1, got %d", f.count)
	}
	d, err := pubsub.Lookup(f.driver)
	if err != nil {
		return fmt.Errorf("--driver: %w", err)
	}
	pc.ID = fmt.Sprintf("dfctl-%d-%x", os.Getpid(), rand.Uint32())
	pc.Epoch = pubsub.NewEpoch()
	pc.Role = "dfctl"
	pc.Logger = g.logger()
	if f.strict {
		pc.WireMode = model.WireStrict
	}
	p, err := d.NewPublisher(ctx, pc)
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stderr, "publisher %s on %s\n", p.Info().ID, p.Info().URI)
	if f.waitSubs > 0 {
		err := waitFor(ctx, f.waitTimeout, func() bool { return subscribedTo(p, f.topic) >= f.waitSubs })
		if err != nil {
			return fmt.Errorf("--wait-subscribers %d: %d subscribed to %q within %s: %w",
				f.waitSubs, subscribedTo(p, f.topic), f.topic, f.waitTimeout, err)
		}
		fmt.Fprintf(stderr, "%d subscriber(s) of %q connected\n", subscribedTo(p, f.topic), f.topic)
	}
	u := f.update
	u.Topic, u.Value = f.topic, []byte(f.value)
	var tick *time.Ticker
	if f.rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / f.rate))
		defer tick.Stop()
	}
	start := time.Now()
	for i := range f.count {
		if tick != nil && i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		ev := u
		if f.count > 1 {
			ev.Key = fmt.Sprintf("%s-%d", u.Key, i+1)
		}
		if err := p.Publish(ctx, ev); err != nil {
			return fmt.Errorf("event %d of %d: %w", i+1, f.count, err)
		}
	}
	took := time.Since(start)
	if !pc.Multiproc { // PUSH lingers in Close; a PUB drops what is queued
		if err := waitFor(ctx, f.waitTimeout, func() bool { return queued(p) == 0 }); err != nil {
			return fmt.Errorf("subscribers did not take the events within %s: %w", f.waitTimeout, err)
		}
	}
	if err := p.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "published %d events on topic %q in %s (%.0f ev/s)\n",
		f.count, f.topic, took.Round(time.Microsecond), float64(f.count)/max(took.Seconds(), 1e-9))
	return nil
}

// subFlags are the flags of sub and pull.
type subFlags struct {
	driver  string
	topics  []string
	count   int
	timeout time.Duration
	json    bool
}

func (f *subFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.driver, "driver", "zmq", "pub/sub driver")
	fl.IntVar(&f.count, "count", 0, "exit after this many events; exit status 0 only if they all arrived (0: until --timeout or Ctrl-C)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "stop after this long")
	fl.BoolVar(&f.json, "json", false, "print one JSON summary (counts per topic, gaps, errors) instead of each event")
}

func newSubCmd(g *globals) *cobra.Command {
	f := &subFlags{}
	var connect []string
	cmd := &cobra.Command{
		Use:   "sub --connect URI[,URI…]",
		Short: "Subscribe to publishers and print what arrives",
		Long: `Connect to one or more publishers and print each event (topic, table, action,
key, publisher, epoch, seq, value), or with --json a summary. Gaps (lost
events detected through sequence numbers, epochs, reconnects, overflow) are
printed to stderr as they are reported. With --count N the exit status is 0
only if N events arrived before --timeout.`,
		Example: `  dfctl sub --connect tcp://127.0.0.1:8866 --topic D --count 100 --json
  dfctl sub --connect tcp://10.0.0.1:8867,tcp://10.0.0.2:8867 --topic listener_host1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(connect) == 0 {
				return errors.New("--connect: at least one URI is required")
			}
			return runSub(cmd.Context(), g, f, cmd.OutOrStdout(), cmd.ErrOrStderr(),
				func(ctx context.Context, sc pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
					d, err := pubsub.Lookup(f.driver)
					if err != nil {
						return nil, fmt.Errorf("--driver: %w", err)
					}
					s, err := d.NewSubscriber(ctx, sc)
					if err != nil {
						return nil, err
					}
					for _, uri := range connect {
						// The URI stands in for the publisher id: dfctl is given
						// addresses, not publisher-table rows.
						if err := s.RegisterPublisher(pubsub.Endpoint{PublisherID: uri, URI: uri}); err != nil {
							s.Close()
							return nil, fmt.Errorf("--connect %s: %w", uri, err)
						}
					}
					return s, nil
				})
		},
	}
	cmd.Flags().StringSliceVar(&connect, "connect", nil, "publisher URIs (comma-separated or repeated)")
	cmd.Flags().StringArrayVar(&f.topics, "topic", []string{model.DefaultTopic}, "topic to subscribe (repeatable; ZeroMQ matches by prefix)")
	f.register(cmd)
	return cmd
}

// summary is what sub/pull print with --json.
type summary struct {
	Received int            `json:"received"`
	PerTopic map[string]int `json:"per_topic"`
	Gaps     []string       `json:"gaps"`
	Lost     uint64         `json:"lost_reported"`
	Errors   map[string]any `json:"errors,omitempty"`
	Seconds  float64        `json:"seconds"`
	Complete bool           `json:"complete"`
}

type startSub func(context.Context, pubsub.SubscriberConfig) (pubsub.Subscriber, error)

func runSub(ctx context.Context, g *globals, f *subFlags, stdout, stderr io.Writer, start startSub) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var (
		mu   sync.Mutex
		sum  = summary{PerTopic: map[string]int{}, Gaps: []string{}}
		done = make(chan struct{})
	)
	began := time.Now()
	sc := pubsub.SubscriberConfig{
		Topics: f.topics,
		Logger: g.logger(),
		OnEvent: func(ev pubsub.Event) {
			mu.Lock()
			defer mu.Unlock()
			if f.count > 0 && sum.Received >= f.count {
				return
			}
			sum.Received++
			sum.PerTopic[ev.Update.Topic]++
			if !f.json {
				printEvent(stdout, ev)
			}
			if sum.Received == f.count {
				close(done)
			}
		},
		OnGap: func(gap pubsub.Gap) {
			mu.Lock()
			defer mu.Unlock()
			sum.Gaps = append(sum.Gaps, gap.String())
			sum.Lost += gap.Lost
			fmt.Fprintln(stderr, "GAP", gap.String())
		},
	}
	s, err := start(ctx, sc)
	if err != nil {
		return err
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-s.Done():
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(stderr, "close:", err)
	}
	mu.Lock()
	defer mu.Unlock()
	sum.Seconds = time.Since(began).Seconds()
	sum.Complete = f.count == 0 || sum.Received >= f.count
	sum.Errors = errorCounts(s)
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	if !sum.Complete {
		return fmt.Errorf("received %d of %d events within %s", sum.Received, f.count, f.timeout)
	}
	return nil
}

func printEvent(w io.Writer, ev pubsub.Event) {
	u := ev.Update
	v := "<nil>"
	if u.Value != nil {
		v = string(u.Value)
		if len(v) > 120 {
			v = v[:117] + "..."
		}
	}
	pub := "-"
	if ev.Meta.PublisherID != "" {
		pub = fmt.Sprintf("%s epoch=%d seq=%d", ev.Meta.PublisherID, ev.Meta.Epoch, ev.Meta.Seq)
	}
	fmt.Fprintf(w, "%s %s %s %s pub=%s value=%s\n", u.Topic, u.Table, u.Action, u.Key, pub, v)
}

func newPullCmd(g *globals) *cobra.Command {
	f := &subFlags{}
	var bind string
	cmd := &cobra.Command{
		Use:   "pull --bind URI",
		Short: "Bind a PULL socket (the publisher service's multiproc input) and print what arrives",
		Long: `Bind a ZeroMQ PULL socket on URI (normally ipc:///PATH) and print each event
pushed to it by workers (dfctl push, Dragonflow's multiproc publishers), or with
--json a summary. With --count N the exit status is 0 only if N events arrived
before --timeout.`,
		Example: `  dfctl pull --bind ipc:///tmp/df-publisher.sock --count 10 --json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSub(cmd.Context(), g, f, cmd.OutOrStdout(), cmd.ErrOrStderr(),
				func(ctx context.Context, sc pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
					p, err := zmq.New(zmq.WithLogger(sc.Logger)).NewPull(ctx, bind, sc)
					if err != nil {
						return nil, fmt.Errorf("--bind %s: %w", bind, err)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "pulling on %s\n", p.URI())
					return p, nil
				})
		},
	}
	cmd.Flags().StringVar(&bind, "bind", "", "URI to bind (required)")
	_ = cmd.MarkFlagRequired("bind")
	f.register(cmd)
	_ = cmd.Flags().MarkHidden("driver")
	return cmd
}

// errorCounts collects what a subscriber refused or lost, for --json.
func errorCounts(s pubsub.Subscriber) map[string]any {
	st, ok := s.(interface{ Stats() zmq.SubscriberStats })
	if !ok {
		return nil
	}
	v := st.Stats()
	out := map[string]any{}
	for k, n := range map[string]uint64{
		"decode_errors": v.DecodeErrors, "bad_messages": v.BadMessages,
		"overflow": v.Overflow, "stale": v.Stale,
	} {
		if n > 0 {
			out[k] = n
		}
	}
	if len(v.Rejected) > 0 {
		out["rejected"] = v.Rejected
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
