package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Report is everything a Run measured, in order.
type Report struct {
	Machine    Machine   `json:"machine"`
	Started    time.Time `json:"started"`
	Reference  string    `json:"reference"`
	Transports []string  `json:"transports"`
	Scenarios  []string  `json:"scenarios"`
	Passes     int       `json:"passes"`
	Window     float64   `json:"window_s"`
	Subs       int       `json:"subs"`
	Drain      float64   `json:"drain_s"`
	// Brokers says, per broker transport, what broker it ran against.
	Brokers map[string]string `json:"brokers,omitempty"`
	// Notes says, per transport, how its subscribers are set up when that
	// differs from the default (e.g. borrowed events).
	Notes   map[string]string `json:"notes,omitempty"`
	Results []Result          `json:"results"`
}

// WriteJSON writes the report and its summary as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	sum := r.Summary()
	if err := enc.Encode(struct {
		*Report
		Summary *Summary `json:"summary"`
	}{r, &sum}); err != nil {
		return fmt.Errorf("bench: write json: %w", err)
	}
	return nil
}

// Metric is one column of ratios to the reference.
type Metric struct {
	Key      string `json:"key"`
	Title    string `json:"title"`
	Scenario string `json:"scenario"`
	// LowerIsBetter for latency and memory; rates are higher-is-better.
	LowerIsBetter bool `json:"lower_is_better"`
	// Target is the ratio the goal asks for (≥ for rates, ≤ otherwise);
	// 0 when there is none.
	Target float64 `json:"target,omitempty"`
	value  func(Result) float64
	format func(float64) string
}

// metrics are the ratio columns, in table order; subs names the fan-out.
func metrics(subs int) []Metric {
	fan := fmt.Sprintf("1→%d", subs)
	rate := func(unit string) func(float64) string {
		return func(v float64) string { return siCount(v) + " " + unit }
	}
	return []Metric{
		{Key: "a_tput", Title: "1→1 ev/s", Scenario: "a-tput", Target: 0.70, value: deliveryRate, format: rate("ev/s")},
		{Key: "a_p50", Title: "1→1 p50 (10k ev/s)", Scenario: "a-lat", LowerIsBetter: true, value: latencyP50, format: fmtNanos},
		{Key: "a_p99", Title: "1→1 p99 (10k ev/s)", Scenario: "a-lat", LowerIsBetter: true, Target: 1.5, value: latencyP99, format: fmtNanos},
		{Key: "b_tput", Title: fan + " deliveries/s", Scenario: "b-tput", Target: 0.60, value: deliveryRate, format: rate("deliveries/s")},
		{Key: "b_p50", Title: fan + " p50 (1k ev/s)", Scenario: "b-lat", LowerIsBetter: true, value: latencyP50, format: fmtNanos},
		{Key: "b_p99", Title: fan + " p99 (1k ev/s)", Scenario: "b-lat", LowerIsBetter: true, Target: 1.5, value: latencyP99, format: fmtNanos},
		{Key: "rss_sub", Title: "RSS per subscriber", Scenario: "c-rss", LowerIsBetter: true, Target: 1.2, value: rssPerSub, format: fmtBytes},
	}
}

// pacedScenarios offer a rate every transport should carry without loss.
var pacedScenarios = []string{"a-lat", "b-lat", "c-rss"}

// Cell is one transport's figure for one metric.
type Cell struct {
	// Ratio is the median over passes of value ÷ reference value of the
	// same pass; Value the median of the absolute values.
	Ratio  Num `json:"ratio"`
	Value  Num `json:"value"`
	Passes int `json:"passes"`
	// NotApplicable says why the metric's scenario cannot apply to the
	// transport (no figure then).
	NotApplicable string `json:"not_applicable,omitempty"`
	// Offered is the offered rate of a paced scenario (ev/s) and
	// PublishRate the median rate the publisher achieved: a transport
	// slower than the offered rate was measured at a lower one.
	Offered     float64 `json:"offered_rate,omitempty"`
	PublishRate Num     `json:"publish_rate,omitempty"`
}

// paceShortfall is the fraction of the offered rate below which a cell
// says the publisher did not keep up.
const paceShortfall = 0.95

// Slow reports whether the publisher fell short of the offered rate.
func (c Cell) Slow() bool {
	return c.Offered > 0 && float64(c.PublishRate) < paceShortfall*c.Offered
}

// slowText is "; publisher only 1.56k of 10.0k ev/s" for a Slow cell.
func (c Cell) slowText() string {
	if !c.Slow() {
		return ""
	}
	return fmt.Sprintf("; publisher only %s of %s ev/s", siCount(float64(c.PublishRate)), siCount(c.Offered))
}

// Loss sums one transport's deliveries over every completed measurement.
type Loss struct {
	Expected uint64 `json:"expected"`
	Lost     uint64 `json:"lost"`
	GapLost  uint64 `json:"gap_lost"`
	Gaps     uint64 `json:"gaps"`
	// Silent is the loss no gap accounted for.
	Silent uint64 `json:"silent"`
	// PacedLost is the loss in a-lat, b-lat and c-rss; PacedRan says
	// whether any of them completed.
	PacedLost uint64 `json:"paced_lost"`
	PacedRan  bool   `json:"paced_ran"`
}

// Stuck is the median d-stuck outcome over passes.
type Stuck struct {
	Share     Num    `json:"healthy_share"`
	RateRatio Num    `json:"rate_ratio"`
	Stalled   bool   `json:"stalled"` // in any pass
	Sent      uint64 `json:"sent"`
}

// Row is one transport's summary.
type Row struct {
	Transport string          `json:"transport"`
	Reference bool            `json:"reference"`
	Cells     map[string]Cell `json:"cells"`
	Loss      Loss            `json:"loss"`
	Stuck     *Stuck          `json:"stuck,omitempty"`
	// StuckNA says why d-stuck cannot apply to the transport.
	StuckNA string `json:"stuck_not_applicable,omitempty"`
}

// Verdict says whether a transport meets one target.
type Verdict struct {
	Transport string `json:"transport"`
	Target    string `json:"target"`
	Measured  string `json:"measured"`
	// Status is PASS, MISS or n/m (not measured).
	Status string `json:"status"`
}

// Verdict statuses.
const (
	Pass        = "PASS"
	Miss        = "MISS"
	NotMeasured = "n/m"
	// NotApplicableStatus: the target's scenario cannot apply.
	NotApplicableStatus = "n/a"
)

// Summary is the report reduced to the table: medians of per-pass ratios.
type Summary struct {
	Metrics  []Metric  `json:"metrics"`
	Rows     []Row     `json:"rows"`
	Verdicts []Verdict `json:"verdicts"`
}

type resultKey struct {
	pass                int
	scenario, transport string
}

// completed indexes the results that finished without error.
func (r *Report) completed() map[resultKey]Result {
	idx := make(map[resultKey]Result, len(r.Results))
	for _, res := range r.Results {
		if res.measured() {
			idx[resultKey{res.Pass, res.Scenario, res.Transport}] = res
		}
	}
	return idx
}

// Summary computes the table: per transport and metric, the median over
// passes of the ratio to the reference within the pass.
func (r *Report) Summary() Summary {
	idx := r.completed()
	sum := Summary{Metrics: metrics(r.Subs)}
	for _, t := range r.Transports {
		row := Row{Transport: t, Reference: t == r.Reference, Cells: map[string]Cell{}}
		for _, m := range sum.Metrics {
			row.Cells[m.Key] = r.cell(idx, m, t)
		}
		row.Loss, row.Stuck, row.StuckNA = r.loss(t), r.stuck(idx, t), r.notApplicable("d-stuck", t)
		sum.Rows = append(sum.Rows, row)
		if !row.Reference {
			sum.Verdicts = append(sum.Verdicts, verdicts(sum.Metrics, row)...)
		}
	}
	return sum
}

func (r *Report) cell(idx map[resultKey]Result, m Metric, t string) Cell {
	var ratios, values, rates []float64
	var offered float64
	for pass := 1; pass <= r.Passes; pass++ {
		res, ok := idx[resultKey{pass, m.Scenario, t}]
		if !ok {
			continue
		}
		v := m.value(res)
		values = append(values, v)
		if res.Rate > 0 {
			offered = res.Rate
			rates = append(rates, res.PublishRate)
		}
		if ref, ok := idx[resultKey{pass, m.Scenario, r.Reference}]; ok {
			ratios = append(ratios, Ratio(v, m.value(ref)))
		}
	}
	c := Cell{Ratio: Num(Median(ratios)), Value: Num(Median(values)), NotApplicable: r.notApplicable(m.Scenario, t)}
	if offered > 0 {
		c.Offered, c.PublishRate = offered, Num(Median(rates))
	}
	for _, x := range ratios {
		if !math.IsNaN(x) {
			c.Passes++
		}
	}
	return c
}

// notApplicable is the reason a scenario did not apply to transport t in
// some pass ("" when it applied).
func (r *Report) notApplicable(scenario, t string) string {
	for _, res := range r.Results {
		if res.Scenario == scenario && res.Transport == t && res.NotApplicable != "" {
			return res.NotApplicable
		}
	}
	return ""
}

func (r *Report) loss(t string) Loss {
	var l Loss
	for _, res := range r.Results {
		if res.Transport != t || !res.measured() {
			continue
		}
		l.Expected += res.Expected
		l.Lost += res.Lost
		l.GapLost += res.GapLost
		l.Gaps += res.Gaps
		l.Silent += res.Silent()
		if slices.Contains(pacedScenarios, res.Scenario) {
			l.PacedRan = true
			l.PacedLost += res.Lost
		}
	}
	return l
}

func (r *Report) stuck(idx map[resultKey]Result, t string) *Stuck {
	var shares, rates, sent []float64
	var stalled bool
	for pass := 1; pass <= r.Passes; pass++ {
		res, ok := idx[resultKey{pass, "d-stuck", t}]
		if !ok || res.Stuck == nil {
			continue
		}
		shares = append(shares, float64(res.Stuck.HealthyShare))
		rates = append(rates, float64(res.Stuck.RateRatio))
		sent = append(sent, float64(res.Sent))
		stalled = stalled || res.Stuck.Stalled
	}
	if len(shares) == 0 {
		return nil
	}
	return &Stuck{Share: Num(Median(shares)), RateRatio: Num(Median(rates)), Stalled: stalled, Sent: uint64(Median(sent))}
}

// Bounds of the targets that are not ratio columns.
const (
	// stuckShareMin: the healthy subscriber gets every event.
	stuckShareMin = 0.9999
	// stuckRateMin: the publisher keeps its rate (within noise).
	stuckRateMin = 0.95
)

// verdicts checks row against every target.
func verdicts(ms []Metric, row Row) []Verdict {
	var out []Verdict
	for _, m := range ms {
		if m.Target == 0 {
			continue
		}
		c := row.Cells[m.Key]
		v := Verdict{Transport: row.Transport, Target: m.Title + " " + boundText(m), Status: NotMeasured, Measured: "n/m"}
		if r := float64(c.Ratio); !math.IsNaN(r) {
			v.Measured = fmt.Sprintf("%s (%s%s)", ratioText(m, r), m.format(float64(c.Value)), c.slowText())
			// A figure measured below the offered rate does not meet a
			// target set at that rate.
			v.Status = status(!c.Slow() && ((m.LowerIsBetter && r <= m.Target) || (!m.LowerIsBetter && r >= m.Target)))
		} else if c.NotApplicable != "" {
			v.Measured, v.Status = "n/a: "+c.NotApplicable, NotApplicableStatus
		}
		out = append(out, v)
	}
	loss := Verdict{Transport: row.Transport, Target: "zero loss within the queue bound (paced scenarios lose nothing, every loss is reported)",
		Status: NotMeasured, Measured: "n/m"}
	if l := row.Loss; l.PacedRan {
		loss.Measured = fmt.Sprintf("paced lost %s, silent %s", siCount(float64(l.PacedLost)), siCount(float64(l.Silent)))
		loss.Status = status(l.PacedLost == 0 && l.Silent == 0)
	}
	stuck := Verdict{Transport: row.Transport, Target: "stuck subscriber: healthy gets 100 % while the publisher keeps its rate",
		Status: NotMeasured, Measured: "n/m"}
	if s := row.Stuck; s != nil {
		stuck.Measured = stuckText(s.Share, s.RateRatio, s.Stalled, s.Sent)
		stuck.Status = status(float64(s.Share) >= stuckShareMin && float64(s.RateRatio) >= stuckRateMin && !s.Stalled)
	} else if row.StuckNA != "" {
		stuck.Measured, stuck.Status = "n/a: "+row.StuckNA, NotApplicableStatus
	}
	return append(out, loss, stuck)
}

func status(ok bool) string {
	if ok {
		return Pass
	}
	return Miss
}

// boundText is "≥ 0.70× raw" or "≤ 1.5× raw".
func boundText(m Metric) string {
	if m.LowerIsBetter {
		return fmt.Sprintf("≤ %s× raw", trim(m.Target))
	}
	return fmt.Sprintf("≥ %.2f× raw", m.Target)
}

// ratioText is a rate ratio as a fraction (0.712) and a latency or memory
// ratio as a factor (1.3×).
func ratioText(m Metric, r float64) string {
	if math.IsNaN(r) {
		return "n/m"
	}
	if m.LowerIsBetter {
		return trim(r) + "×"
	}
	return fmt.Sprintf("%.3f", r)
}
