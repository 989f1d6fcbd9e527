package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/internal/bench"
)

// benchFlags are the flags of `dfctl bench`.
type benchFlags struct {
	drivers   []string
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
the pub/sub drivers named by --driver, with 300-byte events, and prints a
markdown table of every figure as a ratio to the reference measured in the
same pass. The machine is noisy (the raw 1→1 rate varies by ±20 % between
runs); ratios within a pass are not.

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

The report also gives GOMAXPROCS, the CPU model and the load average. A full
run (3 passes of 5 s) takes several minutes; --window 1s --passes 1 is a
quick look. Broker peers (--peers nats) are not built yet: they plug in as an
internal/bench Transport.`,
		Example: `  dfctl bench
  dfctl bench --driver zmq --passes 1 --window 1s --scenarios a-tput,a-lat
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
	fl.StringSliceVar(&f.drivers, "driver", []string{"zmq"}, "pub/sub drivers to measure against the reference (comma-separated; --driver= runs the reference alone)")
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

// runBench measures and writes the report; outputs are written even when
// the run was interrupted, with what was measured so far.
func runBench(cmd *cobra.Command, g *globals, f *benchFlags) error {
	transports := []bench.Transport{bench.RawTCP{}}
	for _, name := range f.drivers {
		if name == bench.ReferenceName {
			return fmt.Errorf("--driver %s: the raw-TCP reference always runs first", name)
		}
		tr, err := bench.Open(name, g.logger())
		if err != nil {
			return fmt.Errorf("--driver: %w", err)
		}
		transports = append(transports, tr)
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
