package bench

import (
	"math"
	"slices"
)

// Percentiles summarises latency samples, in nanoseconds.
type Percentiles struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ns"`
	P99     float64 `json:"p99_ns"`
	P999    float64 `json:"p999_ns"`
}

// Summarize returns the p50, p99 and p99.9 of samples (nearest rank); the
// zero value when there are none. It sorts samples in place.
func Summarize(samples []float64) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	slices.Sort(samples)
	return Percentiles{
		Samples: len(samples),
		P50:     Percentile(samples, 50),
		P99:     Percentile(samples, 99),
		P999:    Percentile(samples, 99.9),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, NaN when it is empty.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	// The epsilon keeps p·n that is whole in decimal (99.9 % of 1000) from
	// rounding up in binary.
	rank := int(math.Ceil(p*float64(len(sorted))/100 - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Median returns the median of the non-NaN values, NaN when there are none.
func Median(values []float64) float64 {
	v := make([]float64, 0, len(values))
	for _, x := range values {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Ratio returns value ÷ reference, NaN when either is unknown (NaN) or the
// reference is not positive (an RSS difference lost in noise).
func Ratio(value, reference float64) float64 {
	if math.IsNaN(value) || math.IsNaN(reference) || reference <= 0 {
		return math.NaN()
	}
	return value / reference
}
