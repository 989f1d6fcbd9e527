package bench

import "math"

// Result is one transport in one scenario of one pass.
type Result struct {
	Pass      int    `json:"pass"`
	Scenario  string `json:"scenario"`
	Transport string `json:"transport"`
	Subs      int    `json:"subs"`
	// Window is the measured window in seconds, as timed.
	Window float64 `json:"window_s"`
	// Rate is the offered rate of a paced scenario (ev/s); 0 means as fast
	// as possible.
	Rate float64 `json:"offered_rate,omitempty"`

	// Sent counts data events published; PublishRate is Sent ÷ Window.
	Sent        uint64  `json:"sent"`
	PublishRate float64 `json:"publish_rate"`
	// PublishTimeouts counts sent events whose Publish timed out (lost by
	// the driver's own account).
	PublishTimeouts uint64 `json:"publish_timeouts,omitempty"`
	// InWindow counts deliveries (events × subscribers) received by the end
	// of the window; DeliveryRate is InWindow ÷ Window.
	InWindow     uint64  `json:"in_window"`
	DeliveryRate float64 `json:"delivery_rate"`
	// Expected is Sent × subscribers; Received counts deliveries after the
	// wait for stragglers; Lost is what is missing. Extra counts deliveries
	// beyond Expected: duplicates, or the event of a stalled Publish that
	// reached some subscribers before it blocked.
	Expected uint64 `json:"expected"`
	Received uint64 `json:"received"`
	Lost     uint64 `json:"lost"`
	Extra    uint64 `json:"extra,omitempty"`
	// Gaps counts the gap reports subscribers got; GapLost sums the events
	// they said were lost (reported loss; 0 when a gap did not say).
	Gaps    uint64 `json:"gaps"`
	GapLost uint64 `json:"gap_lost"`

	Latency *Percentiles `json:"latency,omitempty"`
	RSS     *RSSResult   `json:"rss,omitempty"`
	Stuck   *StuckResult `json:"stuck,omitempty"`
	// Error says why the scenario did not complete; the other fields hold
	// what was measured before.
	Error string `json:"error,omitempty"`
	// NotApplicable says why the scenario cannot apply to the transport
	// (it was not run; no figure is recorded).
	NotApplicable string `json:"not_applicable,omitempty"`
}

// measured reports whether r completed with figures.
func (r Result) measured() bool { return r.Error == "" && r.NotApplicable == "" }

// Silent is the loss no gap report accounted for.
func (r Result) Silent() uint64 {
	return r.Lost - min(r.Lost, r.GapLost)
}

// setDeliveries records expected and received deliveries and derives Lost
// and Extra.
func (r *Result) setDeliveries(expected, received uint64) {
	r.Expected, r.Received = expected, received
	r.Lost = expected - min(expected, received)
	r.Extra = received - min(expected, received)
}

// RSSResult is scenario c: VmRSS of a child process hosting 1, then Subs
// subscribers, read after the traffic.
type RSSResult struct {
	Subs   int        `json:"subs"`
	One    ProcStatus `json:"one"`
	Many   ProcStatus `json:"many"`
	PerSub float64    `json:"per_sub_bytes"` // (Many.RSS − One.RSS) ÷ (Subs − 1)
}

// StuckResult is scenario d: a healthy subscriber next to one that stops
// consuming after its first event, the publisher paced.
type StuckResult struct {
	// RateAlone is the publisher's achieved rate with the healthy
	// subscriber only; RateWithStuck with both; RateRatio their quotient.
	RateAlone     float64 `json:"rate_alone"`
	RateWithStuck float64 `json:"rate_with_stuck"`
	RateRatio     Num     `json:"rate_ratio"`
	// HealthyShare is what the healthy subscriber received ÷ what was sent.
	HealthyShare Num `json:"healthy_share"`
	// Stalled: a Publish was still blocked when the window ended (plus a
	// grace period); Sent is then the count at the stall.
	Stalled bool `json:"stalled"`
}

// metricValue helpers: NaN when the result does not have the figure.

func deliveryRate(r Result) float64 { return r.DeliveryRate }

func latencyP50(r Result) float64 { return latency(r, func(p Percentiles) float64 { return p.P50 }) }

func latencyP99(r Result) float64 { return latency(r, func(p Percentiles) float64 { return p.P99 }) }

func latency(r Result, f func(Percentiles) float64) float64 {
	if r.Latency == nil || r.Latency.Samples == 0 {
		return math.NaN()
	}
	return f(*r.Latency)
}

func rssPerSub(r Result) float64 {
	if r.RSS == nil {
		return math.NaN()
	}
	return r.RSS.PerSub
}
