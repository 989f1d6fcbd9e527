package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultWindow = 5 * time.Second
	DefaultSubs   = 50
	DefaultDrain  = 15 * time.Second
	DefaultPasses = 3
)

// Options configure Run. Zero fields take the defaults.
type Options struct {
	// Transports to measure; the first is the reference every ratio is
	// computed against (RawTCP for `dfctl bench`).
	Transports []Transport
	// Scenarios to run, by name (Scenarios lists them); nil means all.
	Scenarios []string
	// Passes of every scenario; reports show medians of per-pass ratios.
	Passes int
	// Window is the measured time of each scenario.
	Window time.Duration
	// Subs is N, the subscriber count of b-tput, b-lat and c-rss (≥ 2).
	Subs int
	// Drain bounds the wait for stragglers after each window.
	Drain time.Duration
	// Settle is the pause between readiness and each window
	// (DefaultSettle; shorter only for tests).
	Settle time.Duration
	// Child launches the RSS child process. The default, SelfExec(),
	// re-executes the binary without arguments: right for a test binary
	// whose TestMain runs ChildMain when IsChild.
	Child Launcher
	// Progress receives one line per measurement (nil: none).
	Progress io.Writer
}

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.Transports) == 0 {
		return o, errors.New("bench: no transports")
	}
	seen := map[string]bool{}
	for _, t := range o.Transports {
		if seen[t.Name()] {
			return o, fmt.Errorf("bench: transport %q given twice", t.Name())
		}
		seen[t.Name()] = true
	}
	if o.Passes < 0 || o.Window < 0 || o.Drain < 0 || o.Settle < 0 {
		return o, errors.New("bench: negative passes, window, drain or settle")
	}
	if o.Scenarios == nil {
		o.Scenarios = Scenarios()
	}
	for _, name := range o.Scenarios {
		if _, ok := lookupScenario(name); !ok {
			return o, fmt.Errorf("bench: unknown scenario %q (known: %s)", name, strings.Join(Scenarios(), ", "))
		}
	}
	o.Passes = cmp.Or(o.Passes, DefaultPasses)
	o.Window = cmp.Or(o.Window, DefaultWindow)
	o.Subs = cmp.Or(o.Subs, DefaultSubs)
	o.Drain = cmp.Or(o.Drain, DefaultDrain)
	if o.Subs < 2 {
		return o, fmt.Errorf("bench: --subs must be at least 2, got %d", o.Subs)
	}
	if o.Child == nil {
		o.Child = SelfExec()
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o, nil
}

// brokerOf describes the broker tr runs against ("" for none).
func brokerOf(tr Transport) string {
	switch t := tr.(type) {
	case *Driver:
		if t.startBroker != nil {
			return brokerAbout[t.name]
		}
	case *NATSGo:
		return brokerAbout[NATSGoName]
	}
	return ""
}

// noteOf is what the report says about how tr's subscribers are set up
// ("" when nothing is special).
func noteOf(tr Transport) string {
	if t, ok := tr.(*Driver); ok && borrowHonoured[t.name] {
		return "subscribers use pubsub.SubscriberConfig.Borrow (OnEvent does not retain events), " +
			"as the local controller does: Values are lent until OnEvent returns and their memory is reused"
	}
	return ""
}

// notApplicable is why scenario cannot apply to tr ("" when it can).
func notApplicable(tr Transport, scenario string) string {
	if na, ok := tr.(NotApplicable); ok {
		return na.NotApplicable(scenario)
	}
	return ""
}

// Run measures every transport in every scenario, scenario-major within
// each pass and the reference first, so each ratio compares runs minutes
// apart at most. A failed measurement is recorded in its Result and the run
// goes on; Run fails only on bad options or when ctx ends, and then returns
// what it measured so far.
func Run(ctx context.Context, opts Options) (*Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Machine: machineFacts(), Started: time.Now().UTC(),
		Reference: o.Transports[0].Name(), Scenarios: o.Scenarios,
		Passes: o.Passes, Window: o.Window.Seconds(), Subs: o.Subs, Drain: o.Drain.Seconds(),
	}
	for _, t := range o.Transports {
		rep.Transports = append(rep.Transports, t.Name())
		if about := brokerOf(t); about != "" {
			if rep.Brokers == nil {
				rep.Brokers = map[string]string{}
			}
			rep.Brokers[t.Name()] = about
		}
		if note := noteOf(t); note != "" {
			if rep.Notes == nil {
				rep.Notes = map[string]string{}
			}
			rep.Notes[t.Name()] = note
		}
	}
	defer func() { rep.Machine.LoadAfter = loadAvg() }()
	for pass := 1; pass <= o.Passes; pass++ {
		for _, name := range o.Scenarios {
			sc, _ := lookupScenario(name)
			for _, tr := range o.Transports {
				if err := ctx.Err(); err != nil {
					return rep, fmt.Errorf("bench: interrupted: %w", err)
				}
				if reason := notApplicable(tr, sc.name); reason != "" {
					rep.Results = append(rep.Results, Result{Pass: pass, Scenario: sc.name, Transport: tr.Name(), NotApplicable: reason})
					fmt.Fprintf(o.Progress, "pass %d/%d: %s %s … n/a: %s\n", pass, o.Passes, sc.name, tr.Name(), reason)
					continue
				}
				res, err := sc.run(ctx, &o, tr)
				res.Pass, res.Scenario, res.Transport = pass, sc.name, tr.Name()
				line := sc.headline(res)
				if err != nil {
					res.Error = err.Error()
					line = "error: " + res.Error
				}
				rep.Results = append(rep.Results, res)
				fmt.Fprintf(o.Progress, "pass %d/%d: %s %s … %s\n", pass, o.Passes, sc.name, tr.Name(), line)
			}
		}
	}
	return rep, nil
}
