package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	svgLeft     = 70.0
	svgTop      = 60.0
	svgPlotH    = 300.0
	svgBottom   = 90.0
	svgBarW     = 26.0
	svgGroupPad = 34.0
	// svgGroupMin leaves room for a metric's two-line label.
	svgGroupMin = 110.0
	svgRight    = 70.0 // right margin, holds the reference's label
	// svgMaxRatio clips taller bars (their label still tells the value).
	svgMaxRatio = 4.0
)

// svgColors are the bar colours of the transports after the reference.
var svgColors = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"}

// SVG draws the ratio columns of the summary as a grouped bar chart: one
// group per metric, one bar per transport other than the reference, a
// dashed line at 1 (the reference) and a red mark at each target.
func (r *Report) SVG(w io.Writer) error {
	sum := r.Summary()
	var rows []Row
	for _, row := range sum.Rows {
		if !row.Reference {
			rows = append(rows, row)
		}
	}
	groupW := math.Max(svgGroupMin, float64(max(1, len(rows)))*svgBarW+svgGroupPad)
	plotR := svgLeft + float64(len(sum.Metrics))*groupW
	width := plotR + svgRight
	height := svgTop + svgPlotH + svgBottom
	top := chartTop(sum, rows)
	y := func(v float64) float64 { return svgTop + svgPlotH*(1-math.Min(v, top)/top) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", svgLeft,
		esc(fmt.Sprintf("Ratio to %s TCP in the same pass (median of %d)", r.Reference, r.Passes)))
	fmt.Fprintf(&b, `<text x="%.0f" y="40" fill="#555">rates: higher is better; latency and RSS: lower is better; red: target</text>`+"\n", svgLeft)
	for v := 0.0; v <= top+1e-9; v += gridStep(top) {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", svgLeft, plotR, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", svgLeft-6, y(v)+4, trim(v))
	}
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#333" stroke-dasharray="6 4"/>`+"\n", svgLeft, plotR, y(1), y(1))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" fill="#333">%s = 1</text>`+"\n", plotR+6, y(1)+4, esc(r.Reference))
	for g, m := range sum.Metrics {
		x0, inner := svgLeft+float64(g)*groupW+svgGroupPad/2, groupW-svgGroupPad
		bars := x0 + (inner-float64(len(rows))*svgBarW)/2
		for i, row := range rows {
			drawBar(&b, m, row.Cells[m.Key], bars+float64(i)*svgBarW, y, svgColors[i%len(svgColors)], top)
		}
		if m.Target > 0 {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#d62728" stroke-width="2"/>`+"\n",
				x0, x0+inner, y(m.Target), y(m.Target))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#d62728" font-size="9" stroke="white" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
				x0, y(m.Target)-3, esc(boundText(m)))
		}
		line1, line2 := splitTitle(m.Title)
		cx := x0 + inner/2
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", cx, svgTop+svgPlotH+18, esc(line1))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", cx, svgTop+svgPlotH+32, esc(line2))
	}
	for i, row := range rows {
		lx := svgLeft + float64(i)*140
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			lx, height-30, svgColors[i%len(svgColors)], lx+16, height-20, esc(row.Transport))
	}
	b.WriteString("</svg>\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("bench: write svg: %w", err)
	}
	return nil
}

// drawBar draws one ratio bar with its value on top ("n/m" when unknown).
func drawBar(b *bytes.Buffer, m Metric, c Cell, x float64, y func(float64) float64, color string, top float64) {
	r := float64(c.Ratio)
	cx := x + svgBarW/2 - 1
	if math.IsNaN(r) {
		label := "n/m"
		if c.NotApplicable != "" {
			label = "n/a"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9" fill="#888"><title>%s</title>%s</text>`+"\n",
			cx, y(0)-4, esc(c.NotApplicable), label)
		return
	}
	h := math.Max(0, r)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
		x, y(h), svgBarW-2, y(0)-y(h), color, esc(fmt.Sprintf("%s: %s (%s)", m.Title, ratioText(m, r), m.format(float64(c.Value)))))
	label := ratioText(m, r)
	if r > top {
		label = "▲" + label
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%s</text>`+"\n", cx, y(h)-3, esc(label))
}

// splitTitle cuts a metric title for two label lines, before its
// parenthesis or after its first word.
func splitTitle(t string) (string, string) {
	if i := strings.Index(t, " ("); i >= 0 {
		return t[:i], t[i+1:]
	}
	if a, b, ok := strings.Cut(t, " "); ok {
		return a, b
	}
	return t, ""
}

// chartTop is the y-axis maximum: room for 1, every target and every
// ratio, clipped at svgMaxRatio, rounded up to a grid line.
func chartTop(sum Summary, rows []Row) float64 {
	top := 1.0
	for _, m := range sum.Metrics {
		top = math.Max(top, m.Target)
		for _, row := range rows {
			if r := float64(row.Cells[m.Key].Ratio); !math.IsNaN(r) {
				top = math.Max(top, math.Min(r, svgMaxRatio))
			}
		}
	}
	step := gridStep(top * 1.1)
	return math.Ceil(top*1.1/step) * step
}

func gridStep(top float64) float64 {
	if top > 2 {
		return 0.5
	}
	return 0.25
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer cannot fail
	return b.String()
}
