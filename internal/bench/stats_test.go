package bench

import (
	"bufio"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
)

func TestPercentileNearestRank(t *testing.T) {
	s := make([]float64, 1000)
	for i := range s {
		s[i] = float64(1000 - i) // unsorted on purpose
	}
	p := Summarize(s)
	require.Equal(t, Percentiles{Samples: 1000, P50: 500, P99: 990, P999: 999}, p)
	require.Equal(t, 7.0, Percentile([]float64{7}, 99.9))
	require.Equal(t, 1.0, Percentile([]float64{1, 2}, 50))
	require.True(t, math.IsNaN(Percentile(nil, 50)))
	require.Equal(t, Percentiles{}, Summarize(nil))
}

func TestMedianAndRatio(t *testing.T) {
	require.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	require.Equal(t, 2.0, Median([]float64{math.NaN(), 2}), "unknown values are skipped")
	require.True(t, math.IsNaN(Median([]float64{math.NaN()})))
	require.Equal(t, 0.5, Ratio(1, 2))
	for _, bad := range [][2]float64{{1, 0}, {1, -3}, {math.NaN(), 1}, {1, math.NaN()}} {
		require.True(t, math.IsNaN(Ratio(bad[0], bad[1])), "%v", bad)
	}
}

func TestFormats(t *testing.T) {
	require.Equal(t, "2.61M", siCount(2_612_345))
	require.Equal(t, "1.00k", siCount(999.6))
	require.Equal(t, "950", siCount(950))
	require.Equal(t, "23.0 µs", fmtNanos(23_000))
	require.Equal(t, "1.18 ms", fmtNanos(1_180_000))
	require.Equal(t, "26.0 KiB", fmtBytes(26<<10))
	require.Equal(t, "14.5 %", fmtPercent(0.145))
	require.Equal(t, "n/m", fmtNanos(math.NaN()))
}

// Events are 300 bytes on both sides (baselines.md §2).
func TestEventSizes(t *testing.T) {
	tmpl := RawTemplate()
	require.Len(t, tmpl, EventSize)
	u, _, err := model.DecodeBody(tmpl[rawHeaderLen:])
	require.NoError(t, err, "the reference blob is a real DbUpdate body")
	require.Equal(t, "lport", u.Table)

	data, warmup := DriverUpdates()
	require.Len(t, model.EncodeBody(data, typicalMeta(), model.WireV2), EventSize)
	require.Equal(t, KindData, kindOfUpdate(data))
	require.Equal(t, KindWarmup, kindOfUpdate(warmup))
}

func TestParseProcStatus(t *testing.T) {
	const status = "Name:\tdfctl\nVmHWM:\t   30000 kB\nVmRSS:\t   27956 kB\nThreads:\t7\n"
	st, err := parseProcStatus(bufio.NewScanner(strings.NewReader(status)))
	require.NoError(t, err)
	require.Equal(t, ProcStatus{RSS: 27956 << 10, HWM: 30000 << 10, Threads: 7}, st)
	_, err = parseProcStatus(bufio.NewScanner(strings.NewReader("Name:\tx\n")))
	require.Error(t, err)
}
