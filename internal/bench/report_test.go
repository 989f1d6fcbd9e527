package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// syntheticReport has three passes of raw and zmq whose per-pass ratios
// differ from the ratio of medians, one failed measurement, some loss and
// a stuck-subscriber outcome.
func syntheticReport(candidate string) *Report {
	r := &Report{Reference: "raw", Transports: []string{"raw", candidate}, Scenarios: Scenarios(),
		Passes: 3, Window: 5, Subs: 50, Drain: 15}
	add := func(pass int, sc, tr string, res Result) {
		res.Pass, res.Scenario, res.Transport = pass, sc, tr
		r.Results = append(r.Results, res)
	}
	lat := func(p50, p99 float64) *Percentiles {
		return &Percentiles{Samples: 100, P50: p50, P99: p99, P999: 2 * p99}
	}
	zmqTput := []float64{1.5e6, 2.8e6, 4.8e6} // ratios 0.75, 0.70, 0.80
	zmqP99 := []float64{140e3, 160e3, 120e3}  // ratios 1.4, 1.6, 1.2
	for i, pass := range []int{1, 2, 3} {
		add(pass, "a-tput", "raw", Result{DeliveryRate: 2e6 * float64(pass), Sent: 10, Expected: 10, Received: 10})
		add(pass, "a-tput", candidate, Result{DeliveryRate: zmqTput[i], Sent: 10, Expected: 10, Received: 10})
		add(pass, "a-lat", "raw", Result{Latency: lat(20e3, 100e3)})
		add(pass, "a-lat", candidate, Result{Latency: lat(30e3, zmqP99[i])})
		add(pass, "b-tput", "raw", Result{DeliveryRate: 10e6})
		add(pass, "b-tput", candidate, Result{DeliveryRate: 5e6, Expected: 1000, Received: 900, Lost: 100, Gaps: 2, GapLost: 60})
		add(pass, "c-rss", "raw", Result{RSS: &RSSResult{PerSub: 26 << 10}})
		add(pass, "c-rss", candidate, Result{RSS: &RSSResult{PerSub: 20 << 10}, Expected: 500, Received: 500})
		add(pass, "d-stuck", "raw", Result{Sent: 18200, Stuck: &StuckResult{HealthyShare: 1, RateRatio: 0.36, Stalled: true}})
		add(pass, "d-stuck", candidate, Result{Sent: 50000, Stuck: &StuckResult{HealthyShare: 1, RateRatio: 0.99}})
	}
	add(2, "b-lat", candidate, Result{Error: "subscribers not ready", Latency: lat(1, 1)})
	return r
}

func TestSummaryMediansOfPerPassRatios(t *testing.T) {
	sum := syntheticReport("zmq").Summary()
	require.Len(t, sum.Rows, 2)
	raw, zmq := sum.Rows[0], sum.Rows[1]
	require.True(t, raw.Reference)
	require.Equal(t, 1.0, float64(raw.Cells["a_tput"].Ratio))

	c := zmq.Cells["a_tput"]
	require.InDelta(t, 0.75, float64(c.Ratio), 1e-9, "median of per-pass ratios, not ratio of medians (0.70)")
	require.Equal(t, 2.8e6, float64(c.Value))
	require.Equal(t, 3, c.Passes)
	require.InDelta(t, 1.4, float64(zmq.Cells["a_p99"].Ratio), 1e-9)
	require.Zero(t, zmq.Cells["b_p99"].Passes, "the failed b-lat measurement is left out")

	require.Equal(t, Loss{Expected: 3*10 + 3*1000 + 3*500, Lost: 300, GapLost: 180, Gaps: 6, Silent: 120, PacedRan: true}, zmq.Loss)
	require.True(t, raw.Stuck.Stalled)

	status := map[string]string{}
	for _, v := range sum.Verdicts {
		require.Equal(t, "zmq", v.Transport)
		status[v.Target] = v.Status
	}
	require.Equal(t, map[string]string{
		"1→1 ev/s ≥ 0.70× raw":           Pass,
		"1→1 p99 (10k ev/s) ≤ 1.50× raw": Pass,
		"1→50 deliveries/s ≥ 0.60× raw":  Miss,
		"1→50 p99 (1k ev/s) ≤ 1.50× raw": NotMeasured,
		"RSS per subscriber ≤ 1.20× raw": Pass,
		"zero loss within the queue bound (paced scenarios lose nothing, every loss is reported)": Miss,
		"stuck subscriber: healthy gets 100 % while the publisher keeps its rate":                 Pass,
	}, status)
}

func TestMarkdownTable(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, syntheticReport("zmq").Markdown(&b))
	md := b.String()
	for _, want := range []string{
		"| transport | 1→1 ev/s | 1→1 p50 (10k ev/s) | 1→1 p99 (10k ev/s) | 1→50 deliveries/s |",
		"| **raw** (reference) | 1 (4.00M ev/s) | 1 (20.0 µs) | 1 (100 µs) | 1 (10.0M deliveries/s) |",
		"| zmq | 0.750 (2.80M ev/s) | 1.50× (30.0 µs) | 1.40× (140 µs) | 0.500 (5.00M deliveries/s) |",
		"stalled after 18.2k events (by design)",
		"300 of 4.53k (6.62 %); reported 180, **silent 120**",
		"| zmq | 1→1 ev/s ≥ 0.70× raw | 0.750 (2.80M ev/s) | **PASS** |",
		"| b-tput | zmq | 0 | 0 | 5.00M | n/m | n/m | n/m | 100 | 60 | 0 |",
		"* pass 2, b-lat, zmq: subscribers not ready",
	} {
		require.Contains(t, md, want)
	}
}

func TestJSONHasResultsAndSummary(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, syntheticReport("zmq").WriteJSON(&b))
	var got struct {
		Results []Result `json:"results"`
		Summary struct {
			Rows []struct {
				Transport string          `json:"transport"`
				Cells     map[string]Cell `json:"cells"`
			} `json:"rows"`
		} `json:"summary"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &got), "NaN cells must encode as null")
	require.Len(t, got.Results, 31)
	require.Equal(t, "zmq", got.Summary.Rows[1].Transport)
	require.InDelta(t, 0.75, float64(got.Summary.Rows[1].Cells["a_tput"].Ratio), 1e-9)
}

func TestSVGIsWellFormed(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, syntheticReport(`z<m&q"`).SVG(&b))
	dec := xml.NewDecoder(&b)
	var root string
	var rects, texts int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			switch se.Name.Local {
			case "rect":
				rects++
			case "text":
				texts++
			}
		}
	}
	require.Equal(t, "svg", root)
	require.Equal(t, 1+5+1, rects, "background, 5 measured bars (b-lat failed: 2 n/m), legend")
	require.Greater(t, texts, 20)
}
