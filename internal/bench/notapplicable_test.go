package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// naTransport is the reference under another name, to which d-stuck cannot
// apply.
type naTransport struct{ RawTCP }

func (naTransport) Name() string { return "na" }

func (naTransport) NotApplicable(scenario string) string {
	if scenario == "d-stuck" {
		return "no way to stop a subscriber"
	}
	return ""
}

// TestNotApplicable: a scenario that cannot apply is not run, and the
// report says n/a with the reason, never a figure.
func TestNotApplicable(t *testing.T) {
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Transports: []Transport{RawTCP{}, naTransport{}},
		Scenarios:  []string{"a-tput", "d-stuck"},
		Passes:     1, Window: 50 * time.Millisecond, Subs: 2, Drain: time.Second, Settle: 5 * time.Millisecond,
		Progress: &progress,
	})
	require.NoError(t, err)
	require.Contains(t, progress.String(), "d-stuck na … n/a: no way to stop a subscriber")
	sum := rep.Summary()
	require.Nil(t, sum.Rows[1].Stuck)
	require.Equal(t, "no way to stop a subscriber", sum.Rows[1].StuckNA)
	require.Empty(t, sum.Rows[1].Cells["a_tput"].NotApplicable)
	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	require.Contains(t, md.String(), "| n/a: no way to stop a subscriber |\n")
	require.Contains(t, md.String(), "| na | stuck subscriber: healthy gets 100 % while the publisher keeps its rate | n/a: no way to stop a subscriber | **n/a** |")
	require.Contains(t, md.String(), "| d-stuck | na | n/a: no way to stop a subscriber |")
	require.NotContains(t, md.String(), "### Errors")
	var svg bytes.Buffer
	require.NoError(t, rep.SVG(&svg))
}

// TestSlowPublisherShown: a paced scenario whose publisher fell short of
// the offered rate says so next to its figure.
func TestSlowPublisherShown(t *testing.T) {
	lat := func(tr string, rate float64) Result {
		return Result{Pass: 1, Scenario: "a-lat", Transport: tr, Subs: 1, Rate: rate1to1, PublishRate: rate,
			Latency: &Percentiles{Samples: 10, P50: 1000, P99: 2000, P999: 3000}}
	}
	rep := &Report{Reference: "raw", Transports: []string{"raw", "slow"}, Scenarios: []string{"a-lat"}, Passes: 1, Subs: 2,
		Results: []Result{lat("raw", 10_000), lat("slow", 1_560)}}
	sum := rep.Summary()
	require.False(t, sum.Rows[0].Cells["a_p99"].Slow())
	require.True(t, sum.Rows[1].Cells["a_p99"].Slow())
	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	require.Contains(t, md.String(), "| 1.00× (2.00 µs; publisher only 1.56k of 10.0k ev/s) |")
	// Its p99 is the reference's, but not at the offered rate: a miss.
	require.Contains(t, md.String(), "| slow | 1→1 p99 (10k ev/s) ≤ 1.50× raw | 1.00× (2.00 µs; publisher only 1.56k of 10.0k ev/s) | **MISS** |")
	require.NotContains(t, md.String(), "| 1 (2.00 µs; publisher")
}
