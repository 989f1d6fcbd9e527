package bench

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
)

// Markdown writes the report: the ratio table (rows = transports), the
// target verdicts, a per-scenario table of absolute medians, the machine
// facts and any errors.
func (r *Report) Markdown(w io.Writer) error {
	sum := r.Summary()
	var b bytes.Buffer
	fmt.Fprintf(&b, "## Pub/sub benchmark: ratios to %s TCP in the same pass (median of %d %s)\n\n",
		r.Reference, r.Passes, plural(r.Passes, "pass", "passes"))
	r.ratioTable(&b, sum)
	b.WriteString("\nRates: higher is better (a fraction of the reference). Latency and memory: lower is better " +
		"(a factor of the reference). In parentheses: the median absolute value. Loss counts deliveries " +
		"(events × subscribers) never received; \"reported\" is the part subscribers were told about as gaps. " +
		"\"publisher only … ev/s\": in a paced scenario the publisher could not keep up with the offered rate, " +
		"so the figure was measured at the lower rate it achieved.\n")
	if len(sum.Verdicts) > 0 {
		b.WriteString("\n### Targets\n\n| transport | target | measured | verdict |\n|---|---|---|---|\n")
		for _, v := range sum.Verdicts {
			fmt.Fprintf(&b, "| %s | %s | %s | **%s** |\n", v.Transport, v.Target, v.Measured, v.Status)
		}
	}
	r.scenarioTable(&b)
	r.machineSection(&b)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("bench: write markdown: %w", err)
	}
	return nil
}

func (r *Report) ratioTable(b *bytes.Buffer, sum Summary) {
	b.WriteString("| transport |")
	for _, m := range sum.Metrics {
		b.WriteString(" " + m.Title + " |")
	}
	b.WriteString(" loss | stuck subscriber |\n|---|" + strings.Repeat("---|", len(sum.Metrics)+2) + "\n")
	for _, row := range sum.Rows {
		name := row.Transport
		if row.Reference {
			name = "**" + name + "** (reference)"
		}
		b.WriteString("| " + name + " |")
		for _, m := range sum.Metrics {
			b.WriteString(" " + cellText(m, row.Cells[m.Key], row.Reference) + " |")
		}
		fmt.Fprintf(b, " %s | %s |\n", lossText(row.Loss), stuckCell(row))
	}
}

// cellText is "0.712 (1.88M ev/s)"; the reference shows "1 (…)".
func cellText(m Metric, c Cell, reference bool) string {
	v := float64(c.Value)
	if math.IsNaN(v) {
		if c.NotApplicable != "" {
			return "n/a: " + c.NotApplicable
		}
		return "n/m"
	}
	ratio := ratioText(m, float64(c.Ratio))
	if reference {
		ratio = "1"
	}
	return fmt.Sprintf("%s (%s%s)", ratio, m.format(v), c.slowText())
}

func lossText(l Loss) string {
	switch {
	case l.Expected == 0:
		return "n/m"
	case l.Lost == 0:
		return "0"
	}
	s := fmt.Sprintf("%s of %s (%s); reported %s", siCount(float64(l.Lost)), siCount(float64(l.Expected)),
		fmtPercent(float64(l.Lost)/float64(l.Expected)), siCount(float64(l.GapLost)))
	if l.Silent > 0 {
		s += fmt.Sprintf(", **silent %s**", siCount(float64(l.Silent)))
	}
	return s
}

func stuckCell(row Row) string {
	if row.Stuck == nil {
		if row.StuckNA != "" {
			return "n/a: " + row.StuckNA
		}
		return "n/m"
	}
	s := stuckText(row.Stuck.Share, row.Stuck.RateRatio, row.Stuck.Stalled, row.Stuck.Sent)
	if row.Reference && row.Stuck.Stalled {
		s += " (by design)"
	}
	return s
}

// scenarioTable lists the median absolute figures of every scenario.
func (r *Report) scenarioTable(b *bytes.Buffer) {
	idx := r.completed()
	b.WriteString("\n### Per scenario (median over passes)\n\n" +
		"| scenario | transport | subs | publisher ev/s | delivered/s | p50 | p99 | p99.9 | lost | reported lost | publish timeouts |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, sc := range r.Scenarios {
		for _, t := range r.Transports {
			var rs []Result
			for pass := 1; pass <= r.Passes; pass++ {
				if res, ok := idx[resultKey{pass, sc, t}]; ok {
					rs = append(rs, res)
				}
			}
			if len(rs) == 0 {
				na := r.notApplicable(sc, t)
				if na != "" {
					na = "n/a: " + na
				}
				fmt.Fprintf(b, "| %s | %s | %s | | | | | | | | |\n", sc, t, na)
				continue
			}
			med := func(f func(Result) float64) float64 {
				v := make([]float64, len(rs))
				for i, res := range rs {
					v[i] = f(res)
				}
				return Median(v)
			}
			p999 := func(res Result) float64 { return latency(res, func(p Percentiles) float64 { return p.P999 }) }
			fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, t, rs[0].Subs,
				siCount(med(func(res Result) float64 { return res.PublishRate })),
				siCount(med(deliveryRate)),
				fmtNanos(med(latencyP50)), fmtNanos(med(latencyP99)), fmtNanos(med(p999)),
				siCount(med(func(res Result) float64 { return float64(res.Lost) })),
				siCount(med(func(res Result) float64 { return float64(res.GapLost) })),
				siCount(med(func(res Result) float64 { return float64(res.PublishTimeouts) })))
		}
	}
}

func (r *Report) machineSection(b *bytes.Buffer) {
	m := r.Machine
	fmt.Fprintf(b, "\n### Machine and method\n\n"+
		"* GOMAXPROCS %d (%d CPUs), %s, kernel %s, %s\n"+
		"* load average %s at the start, %s at the end\n"+
		"* window %s per scenario, %d %s, N = %d subscribers, wait for stragglers ≤ %s; started %s\n"+
		"* every ratio is computed within a pass (scenario-major, %s first), then the median over passes is shown\n",
		m.GOMAXPROCS, m.NumCPU, m.CPU, m.Kernel, m.Go, m.LoadBefore, m.LoadAfter,
		trim(r.Window)+" s", r.Passes, plural(r.Passes, "pass", "passes"), r.Subs, trim(r.Drain)+" s",
		r.Started.Format("2006-01-02 15:04 UTC"), r.Reference)
	if len(r.Brokers) > 0 {
		b.WriteString("* broker transports go through a broker the bench started for them, one per transport for the whole run " +
			"(publisher → broker → subscribers, all on loopback); RSS per subscriber counts the subscribers' process only, " +
			"not the broker's memory:\n")
		for _, t := range r.Transports {
			if about := r.Brokers[t]; about != "" {
				fmt.Fprintf(b, "  * %s: %s\n", t, about)
			}
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("* transport notes:\n")
		for _, t := range r.Transports {
			if note := r.Notes[t]; note != "" {
				fmt.Fprintf(b, "  * %s: %s\n", t, note)
			}
		}
	}
	var errs []string
	for _, res := range r.Results {
		if res.Error != "" {
			errs = append(errs, fmt.Sprintf("* pass %d, %s, %s: %s", res.Pass, res.Scenario, res.Transport,
				strings.Join(strings.Fields(res.Error), " ")))
		}
	}
	if len(errs) > 0 {
		b.WriteString("\n### Errors\n\n" + strings.Join(errs, "\n") + "\n")
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
