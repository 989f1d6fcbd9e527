package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/internal/bench"
)

// benchFlags are the flags of `dfctl bench`.
type benchFlags struct {
	drivers   []string
	peers     []string
	passes    int
	window    time.Duration
	drain     time.Duration
	subs      int
	scenarios []string
	jsonFile  string
	svgFile   string
	mdFile    string
	child     bool
}

func newBenchCmd(g *globals) *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark pub/sub drivers against a raw-TCP reference, as ratios",
		Long: `bench runs, in this one process and one run, a raw-TCP Go fan-out reference and
the pub/sub drivers named by --driver and --peers, with 300-byte events, and
prints a markdown table of every figure as a ratio to the reference measured
in the same pass, one row per transport. The machine is noisy (the raw 1→1
rate varies by ±20 % between runs); ratios within a pass are not.

Method (reference/baselines.md §2):
  reference  one listener; per subscriber a 4096-event queue and a writer with
             a 64 KiB bufio.Writer flushed when the queue is empty; 4-byte
             length prefix; 64 KiB bufio.Reader; Publish blocks on a full
             queue (lossless, and one stuck reader stalls it: by design).
  event      reference: 17-byte header (seq, send time, kind) + 283-byte msgpack
             DbUpdate, copied per publish. driver: an lport DbUpdate whose v2
             body (with pub_id, epoch, seq, pub_ts) is 300 bytes.
  latency    receive time minus a timestamp taken just before Publish.
  readiness  warm-up events every 5 ms until every subscriber has one, 300 ms
             settle; after the window, wait up to --drain for stragglers.
  loss       sent × subscribers − received; the part reported as gaps is
             shown apart, so silent loss stands out.
  order      scenario-major, reference first; a ratio is computed within its
             pass, and the median over --passes is shown.

Scenarios (N = --subs):
` + bench.ScenarioHelp() + `
Targets (checked for every driver, PASS/MISS):
  1→1 delivered ev/s ≥ 0.70× raw     1→N deliveries/s ≥ 0.60× raw
  p99 ≤ 1.5× raw (1→1 at 10k ev/s and 1→N at 1k ev/s)
  RSS per subscriber ≤ 1.2× raw      zero loss within the queue bound
  stuck subscriber: the healthy one gets 100 % while the publisher keeps its rate
A paced scenario ends with its window even when the publisher could not keep
up with the offered rate; its figures then say "publisher only X of Y ev/s"
and a target at that rate is a MISS.

Peers and broker drivers (--peers, --driver):
  nats       (--peers only) plain nats.go (github.com/nats-io/nats.go, no
             dragonflow driver) as the row "nats.go": the reference's 300-byte
             frame as the payload, one connection per publisher and per
             subscriber, nats.go's default pending limits; loss it reports =
             its slow-consumer drops and reconnects.
  etcd       the etcd driver against an embedded etcd the bench starts in this
             process (data dir in a temporary directory, removed after).
  redis      the redis driver against a redis-server process the bench starts
             on a free loopback port (--save "" --appendonly no).
  nats       (--driver nats) the dragonflow nats driver against its own
             nats-server process.
  any other  a registered pub/sub driver, as with --driver (zmq: no broker).
A broker is started before the transport's first measurement, serves it for
the whole run (the RSS child connects to it too) and is stopped at the end,
also when the run fails or is interrupted. redis-server and nats-server are
the Debian binaries (/usr/bin/redis-server, /usr/sbin/nats-server; apt-get
install redis-server nats-server), or whatever $REDIS_SERVER / $NATS_SERVER
or $PATH name; a missing one is an error. A broker driver may lose events
under overload: loss, and what the subscribers were told about as gaps, are
shown as for zmq.

The report also gives GOMAXPROCS, the CPU model and the load average. A full
run (3 passes of 5 s) takes several minutes; --window 1s --passes 1 is a
quick look.`,
		Example: `  dfctl bench
  dfctl bench --driver zmq --passes 1 --window 1s --scenarios a-tput,a-lat
  dfctl bench --driver zmq,nats --peers nats,etcd,redis --passes 1 --window 2s
  dfctl bench --json bench.json --svg bench.svg --md bench.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.child {
				return bench.ServeChild(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), g.logger())
			}
			return runBench(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.drivers, "driver", []string{"zmq"}, "pub/sub drivers to measure against the reference (comma-separated; --driver= runs the reference alone; "+
		"zmq-curve is zmq with ZMTP CURVE on every connection)")
	fl.StringSliceVar(&f.peers, "peers", nil, "more transports to measure after the drivers (comma-separated): nats = plain nats.go against its own nats-server; etcd, redis or any registered driver = that driver, with its broker started by the bench")
	fl.IntVar(&f.passes, "passes", bench.DefaultPasses, "passes; the table shows medians of per-pass ratios")
	fl.DurationVar(&f.window, "window", bench.DefaultWindow, "measured time of each scenario")
	fl.DurationVar(&f.drain, "drain", bench.DefaultDrain, "longest wait for stragglers after a window")
	fl.IntVar(&f.subs, "subs", bench.DefaultSubs, "N, the subscribers of the fan-out scenarios (b-*, c-rss)")
	fl.StringSliceVar(&f.scenarios, "scenarios", bench.Scenarios(), "scenarios to run (comma-separated)")
	fl.StringVar(&f.jsonFile, "json", "", "write every raw result and the summary as JSON to this file")
	fl.StringVar(&f.svgFile, "svg", "", "write the ratio table as an SVG bar chart to this file")
	fl.StringVar(&f.mdFile, "md", "", "also write the markdown report to this file")
	fl.BoolVar(&f.child, "child", false, "internal: host the RSS scenario's subscribers (protocol on stdin/stdout)")
	_ = fl.MarkHidden("child")
	return cmd
}

// benchTransports opens the reference, then --driver's and --peers'
// transports. On error it returns those opened so far, for closing.
func benchTransports(g *globals, f *benchFlags) ([]bench.Transport, error) {
	transports := []bench.Transport{bench.RawTCP{}}
	seen := map[string]string{bench.ReferenceName: "the reference"}
	groups := []struct {
		flag  string
		names []string
		open  func(string, *slog.Logger) (bench.Transport, error)
	}{
		{"--driver", f.drivers, bench.Open},
		{"--peers", f.peers, bench.OpenPeer},
	}
	for _, grp := range groups {
		for _, name := range grp.names {
			name = strings.TrimSpace(name)
			if name == bench.ReferenceName {
				return transports, fmt.Errorf("%s %s: the raw-TCP reference always runs first", grp.flag, name)
			}
			tr, err := grp.open(name, g.logger())
			if err != nil {
				return transports, fmt.Errorf("%s: %w", grp.flag, err)
			}
			if prev, dup := seen[tr.Name()]; dup {
				return transports, fmt.Errorf("%s %s: %s is already measured (%s)", grp.flag, name, tr.Name(), prev)
			}
			seen[tr.Name()] = grp.flag + " " + name
			transports = append(transports, tr)
		}
	}
	return transports, nil
}

// runBench measures and writes the report; outputs are written even when
// the run was interrupted, with what was measured so far.
//
// The brokers the transports started are stopped before it returns.
func runBench(cmd *cobra.Command, g *globals, f *benchFlags) (err error) {
	transports, err := benchTransports(g, f)
	defer func() { err = errors.Join(err, bench.CloseTransports(transports)) }()
	if err != nil {
		return err
	}
	rep, runErr := bench.Run(cmd.Context(), bench.Options{
		Transports: transports,
		Scenarios:  f.scenarios,
		Passes:     f.passes,
		Window:     f.window,
		Subs:       f.subs,
		Drain:      f.drain,
		Child:      bench.SelfExec("bench", "--child"),
		Progress:   cmd.ErrOrStderr(),
	})
	if rep == nil {
		return runErr
	}
	var md bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		return err
	}
	if _, err := cmd.OutOrStdout().Write(md.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	outputs := []struct {
		flag, file string
		render     func(io.Writer) error
	}{
		{"--md", f.mdFile, func(w io.Writer) error { _, err := w.Write(md.Bytes()); return err }},
		{"--json", f.jsonFile, rep.WriteJSON},
		{"--svg", f.svgFile, rep.SVG},
	}
	for _, o := range outputs {
		if o.file == "" {
			continue
		}
		var b bytes.Buffer
		if err := o.render(&b); err != nil {
			return fmt.Errorf("%s %s: %w", o.flag, o.file, err)
		}
		if err := os.WriteFile(o.file, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("%s: %w", o.flag, err)
		}
	}
	return runErr
}
