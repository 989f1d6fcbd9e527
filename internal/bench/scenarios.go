package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Offered rates of the paced scenarios (baselines.md §2).
const (
	// rate1to1 paces a-lat and d-stuck: bursts of 10 every millisecond.
	rate1to1 = 10_000
	// rateFanout paces b-lat and c-rss: one event every millisecond.
	rateFanout = 1_000
	// stallGrace is how long past the window a blocked Publish may take
	// before d-stuck calls the publisher stalled.
	stallGrace = 250 * time.Millisecond
)

// scenario is one measurement every transport goes through.
type scenario struct {
	name  string
	about string
	run   func(ctx context.Context, o *Options, tr Transport) (Result, error)
	// headline is the progress line's figure.
	headline func(Result) string
}

// scenarios in the order a pass runs them.
var scenarios = []scenario{
	{"a-tput", "1 subscriber, publisher as fast as possible: delivered ev/s in the window", runATput, headlineTput("ev/s")},
	{"a-lat", "1 subscriber, paced 10k ev/s (bursts of 10 per ms): p50/p99/p99.9", runALat, headlineLat},
	{"b-tput", "N subscribers, as fast as possible: deliveries/s summed", runBTput, headlineTput("deliveries/s")},
	{"b-lat", "N subscribers, paced 1k ev/s: percentiles over all (event, subscriber) samples", runBLat, headlineLat},
	{"c-rss", "subscribers in a child process, 1 then N, 1k ev/s: VmRSS per extra subscriber", runRSS, headlineRSS},
	{"d-stuck", "a healthy subscriber next to one that never reads, paced 10k ev/s", runStuck, headlineStuck},
}

// Scenarios lists the scenario names in run order.
func Scenarios() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

// ScenarioHelp is one line per scenario: name and what it measures.
func ScenarioHelp() string {
	var b strings.Builder
	for _, s := range scenarios {
		fmt.Fprintf(&b, "  %-8s %s\n", s.name, s.about)
	}
	return b.String()
}

func lookupScenario(name string) (scenario, bool) {
	i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == name })
	if i < 0 {
		return scenario{}, false
	}
	return scenarios[i], true
}

// plan is one window on a fresh session.
type plan struct {
	cfg    SessionConfig
	window time.Duration
	drain  time.Duration
	rate   float64 // ev/s; 0 = as fast as possible
	// stallGrace > 0: a Publish still blocked this long after the window is
	// a stall (reported), not an error.
	stallGrace time.Duration
}

// outcome is what a plan measured.
type outcome struct {
	res     Result
	samples []float64
	stalled bool
}

// measure runs p: start and warm up, publish for the window, wait for
// stragglers, close.
func measure(ctx context.Context, tr Transport, p plan) (outcome, error) {
	out := outcome{res: Result{Subs: p.cfg.Subs, Rate: p.rate}}
	s, err := StartSession(ctx, tr, p.cfg)
	if err != nil {
		return out, err
	}
	start := time.Now()
	end := start.Add(p.window)
	pubCtx, cancel := ctx, context.CancelFunc(func() {})
	if p.stallGrace > 0 {
		pubCtx, cancel = context.WithDeadline(ctx, end.Add(p.stallGrace))
	}
	if p.rate > 0 {
		err = s.Pace(pubCtx, p.rate, end)
	} else {
		err = s.Blast(pubCtx, end)
	}
	cancel()
	if p.stallGrace > 0 && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		out.stalled, err = true, nil
	}
	out.res.windowCounts(s, time.Since(start))
	if err == nil {
		err = s.Drain(ctx, p.drain)
	}
	out.res.finalCounts(s)
	err = errors.Join(err, s.Close())
	out.samples = s.Samples()
	return out, err
}

// windowCounts records what the window achieved.
func (r *Result) windowCounts(s *Session, elapsed time.Duration) {
	r.Window = elapsed.Seconds()
	r.Sent = s.Sent()
	r.PublishTimeouts = s.PublishTimeouts()
	r.PublishRate = float64(r.Sent) / r.Window
	r.InWindow = s.Delivered()
	r.DeliveryRate = float64(r.InWindow) / r.Window
}

// finalCounts records deliveries and loss after the wait for stragglers.
func (r *Result) finalCounts(s *Session) {
	r.setDeliveries(r.Sent*uint64(r.Subs), s.Delivered())
	r.Gaps, r.GapLost = s.Gaps()
}

func runATput(ctx context.Context, o *Options, tr Transport) (Result, error) {
	out, err := measure(ctx, tr, plan{cfg: SessionConfig{Subs: 1, Settle: o.Settle}, window: o.Window, drain: o.Drain})
	return out.res, err
}

func runBTput(ctx context.Context, o *Options, tr Transport) (Result, error) {
	out, err := measure(ctx, tr, plan{cfg: SessionConfig{Subs: o.Subs, Settle: o.Settle}, window: o.Window, drain: o.Drain})
	return out.res, err
}

func runALat(ctx context.Context, o *Options, tr Transport) (Result, error) {
	return runLat(ctx, o, tr, 1, rate1to1)
}

func runBLat(ctx context.Context, o *Options, tr Transport) (Result, error) {
	return runLat(ctx, o, tr, o.Subs, rateFanout)
}

func runLat(ctx context.Context, o *Options, tr Transport, subs int, rate float64) (Result, error) {
	hint := int(rate*o.Window.Seconds()*1.05) + 64
	out, err := measure(ctx, tr, plan{
		cfg:    SessionConfig{Subs: subs, RecordLatency: true, SampleHint: hint, Settle: o.Settle},
		window: o.Window, drain: o.Drain, rate: rate,
	})
	p := Summarize(out.samples)
	out.res.Latency = &p
	return out.res, err
}

// runStuck paces 10k ev/s twice: with the healthy subscriber alone, then
// with a stuck one next to it. A publisher that blocks on the stuck one
// (the reference, by design) is reported as stalled once a Publish is
// still blocked stallGrace after the window.
func runStuck(ctx context.Context, o *Options, tr Transport) (Result, error) {
	alone, err := measure(ctx, tr, plan{cfg: SessionConfig{Subs: 1, Settle: o.Settle}, window: o.Window, drain: o.Drain, rate: rate1to1})
	if err != nil {
		return alone.res, fmt.Errorf("alone: %w", err)
	}
	out, err := measure(ctx, tr, plan{
		cfg:    SessionConfig{Subs: 1, Stuck: 1, Settle: o.Settle},
		window: o.Window, drain: o.Drain, rate: rate1to1, stallGrace: stallGrace,
	})
	out.res.Stuck = &StuckResult{
		RateAlone:     alone.res.PublishRate,
		RateWithStuck: out.res.PublishRate,
		RateRatio:     Num(Ratio(out.res.PublishRate, alone.res.PublishRate)),
		HealthyShare:  Num(Ratio(float64(out.res.Received), float64(out.res.Sent))),
		Stalled:       out.stalled,
	}
	return out.res, err
}

func headlineTput(unit string) func(Result) string {
	return func(r Result) string {
		return fmt.Sprintf("%s %s (publisher %s ev/s, lost %s)", siCount(r.DeliveryRate), unit, siCount(r.PublishRate), siCount(float64(r.Lost)))
	}
}

func headlineLat(r Result) string {
	if r.Latency == nil {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s p99 %s p99.9 %s at %s ev/s (lost %s)", fmtNanos(r.Latency.P50), fmtNanos(r.Latency.P99),
		fmtNanos(r.Latency.P999), siCount(r.PublishRate), siCount(float64(r.Lost)))
}

func headlineRSS(r Result) string {
	if r.RSS == nil {
		return "not measured"
	}
	return fmt.Sprintf("%s per subscriber (RSS %s with 1, %s with %d)", fmtBytes(r.RSS.PerSub),
		fmtBytes(float64(r.RSS.One.RSS)), fmtBytes(float64(r.RSS.Many.RSS)), r.RSS.Subs)
}

func headlineStuck(r Result) string {
	if r.Stuck == nil {
		return "not measured"
	}
	return stuckText(r.Stuck.HealthyShare, r.Stuck.RateRatio, r.Stuck.Stalled, r.Sent)
}

// stuckText describes a d-stuck outcome.
func stuckText(share, rateRatio Num, stalled bool, sent uint64) string {
	s := fmt.Sprintf("healthy gets %s, publisher at %s× its rate alone", fmtPercent(float64(share)), trim(float64(rateRatio)))
	if stalled {
		s += fmt.Sprintf(", stalled after %s events", siCount(float64(sent)))
	}
	return s
}
