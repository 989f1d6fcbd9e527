package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Num is a float that encodes NaN and ±Inf as JSON null.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON implements json.Unmarshaler (null is NaN).
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("bench: number %s: %w", b, err)
	}
	*n = Num(f)
	return nil
}

// unit is a scale and its suffix.
type unit struct {
	size   float64
	suffix string
}

// Unit tables, largest first.
var (
	countUnits = []unit{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}}
	nanoUnits  = []unit{{1e9, " s"}, {1e6, " ms"}, {1e3, " µs"}}
	byteUnits  = []unit{{1 << 30, " GiB"}, {1 << 20, " MiB"}, {1 << 10, " KiB"}}
)

// scaled formats v in the largest unit it reaches (after rounding to three
// digits), else as a whole number followed by base; NaN is "n/m".
func scaled(v float64, units []unit, base string) string {
	if math.IsNaN(v) {
		return "n/m"
	}
	for _, u := range units {
		if math.Abs(v) >= u.size*0.9995 {
			return trim(v/u.size) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + base
}

// siCount formats a count: 2.61M, 950, 12.3k.
func siCount(v float64) string { return scaled(v, countUnits, "") }

// fmtNanos formats a duration given in nanoseconds: 23.0 µs, 1.18 ms.
func fmtNanos(ns float64) string { return scaled(ns, nanoUnits, " ns") }

// fmtBytes formats a size in bytes with binary units: 26.0 KiB, 27.3 MiB.
func fmtBytes(b float64) string { return scaled(b, byteUnits, " B") }

// trim gives three significant digits.
func trim(v float64) string {
	switch a := math.Abs(v); {
	case a >= 99.95:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 9.995:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// fmtPercent formats a share: 100 %, 14.5 %.
func fmtPercent(share float64) string {
	if math.IsNaN(share) {
		return "n/m"
	}
	return trim(share*100) + " %"
}
