package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSmokeRun runs every scenario once, with tiny windows, against the
// reference and the fake driver (c-rss in a re-executed child).
func TestSmokeRun(t *testing.T) {
	drv, err := NewDriver(fakeDriverName, nil)
	require.NoError(t, err)
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Transports: []Transport{RawTCP{}, drv},
		Passes:     1,
		Window:     100 * time.Millisecond,
		Subs:       3,
		Drain:      2 * time.Second,
		Settle:     10 * time.Millisecond,
		Progress:   &progress,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, len(Scenarios())*2)
	for _, res := range rep.Results {
		require.Empty(t, res.Error, "%s %s", res.Scenario, res.Transport)
		require.Zero(t, res.Lost, "%s %s", res.Scenario, res.Transport)
		require.NotZero(t, res.Sent, "%s %s", res.Scenario, res.Transport)
	}
	require.Contains(t, progress.String(), "pass 1/1: a-tput raw … ")

	sum := rep.Summary()
	require.Len(t, sum.Rows, 2)
	fake := sum.Rows[1]
	require.Equal(t, 1, fake.Cells["a_tput"].Passes)
	require.Equal(t, 1, fake.Cells["b_p99"].Passes)
	// With 3 subscribers and 100 ms the RSS difference is noise: only
	// require that both steps were read.
	for _, res := range rep.Results {
		if res.Scenario == "c-rss" {
			require.NotZero(t, res.RSS.One.RSS)
			require.NotZero(t, res.RSS.Many.RSS)
		}
	}
	require.InDelta(t, 1.0, float64(fake.Stuck.Share), 1e-9, "the healthy subscriber got everything")

	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	require.Contains(t, md.String(), "| **raw** (reference) | 1 (")
	require.Contains(t, md.String(), "| "+fakeDriverName+" | ")
	require.NotContains(t, md.String(), "### Errors")
}
