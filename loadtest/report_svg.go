package loadtest

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 720.0, 220.0
	padL, padR     = 60.0, 12.0
	padT, padB     = 24.0, 34.0
)

// xy is one point of a line.
type xy struct{ x, y float64 }

// line is one named, coloured series of a chart.
type line struct {
	name  string
	color string
	pts   []xy
}

// chartColors are the colours of successive lines.
var chartColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"}

// niceStep returns a round tick step (1, 2 or 5 times a power of ten)
// giving about n ticks over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// fmtTick formats a tick label compactly.
func fmtTick(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e5)/10)
	case a >= 1e4:
		return fmt.Sprintf("%gk", math.Round(v/100)/10)
	case a >= 10 || a == 0:
		return fmt.Sprintf("%g", math.Round(v))
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// lineChart draws lines on linear axes: x in seconds from minX to maxX,
// y in unit from 0.
func lineChart(title, xLabel, unit string, minX, maxX float64, lines []line) string {
	var maxY float64
	n := 0
	for _, l := range lines {
		n += len(l.pts)
		for _, p := range l.pts {
			maxY = math.Max(maxY, p.y)
		}
	}
	if n == 0 {
		return ""
	}
	if maxX <= minX {
		maxX = minX + 1
	}
	if maxY <= 0 {
		maxY = 1
	}
	yStep := niceStep(maxY, 4)
	maxY = math.Ceil(maxY/yStep) * yStep
	sx := func(x float64) float64 { return padL + (x-minX)/(maxX-minX)*(chartW-padL-padR) }
	sy := func(y float64) float64 { return chartH - padB - y/maxY*(chartH-padT-padB) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, chartW, chartH, chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%g" y="15" class="t">%s</text>`, padL, html.EscapeString(title))
	for y := 0.0; y <= maxY+yStep/2; y += yStep {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" class="g"/><text x="%g" y="%.1f" class="yl">%s</text>`,
			padL, chartW-padR, sy(y), sy(y), padL-4, sy(y)+4, fmtTick(y))
	}
	xStep := niceStep(maxX-minX, 8)
	for x := math.Ceil(minX/xStep) * xStep; x <= maxX; x += xStep {
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="xl">%s</text>`, sx(x), chartH-padB+14, fmtTick(x))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" class="xl">%s</text><text x="8" y="%g" class="u">%s</text>`,
		(chartW+padL)/2, chartH-4, html.EscapeString(xLabel), padT-8, html.EscapeString(unit))
	for i, l := range lines {
		if len(l.pts) == 0 {
			continue
		}
		var pts strings.Builder
		for _, p := range l.pts {
			fmt.Fprintf(&pts, "%.1f,%.1f ", sx(p.x), sy(p.y))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, strings.TrimSpace(pts.String()), l.color)
		fmt.Fprintf(&b, `<text x="%g" y="15" fill="%s" class="lg">%s</text>`, chartW-padR-float64(len(lines)-i)*90, l.color, html.EscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// bar is one bar of a histogram chart: values in [lo, hi] and their share.
type bar struct {
	lo, hi float64
	pct    float64
}

// histChart draws bars over a logarithmic value axis (unit ms), with the
// p50/p99 marks.
func histChart(title string, bars []bar, p50, p99 float64) string {
	if len(bars) == 0 {
		return ""
	}
	lo, hi := math.Max(bars[0].lo, 0.001), math.Max(bars[len(bars)-1].hi, bars[0].lo*1.01)
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(math.Max(hi, lo*10))))
	maxPct := 0.0
	for _, b := range bars {
		maxPct = math.Max(maxPct, b.pct)
	}
	yStep := niceStep(maxPct, 4)
	maxY := math.Ceil(maxPct/yStep) * yStep
	sx := func(v float64) float64 {
		v = math.Max(v, lo)
		return padL + (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(chartW-padL-padR)
	}
	sy := func(y float64) float64 { return chartH - padB - y/maxY*(chartH-padT-padB) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, chartW, chartH, chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%g" y="15" class="t">%s</text>`, padL, html.EscapeString(title))
	for y := 0.0; y <= maxY+yStep/2; y += yStep {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" class="g"/><text x="%g" y="%.1f" class="yl">%s%%</text>`,
			padL, chartW-padR, sy(y), sy(y), padL-4, sy(y)+4, fmtTick(y))
	}
	for d := lo; d <= hi*1.001; d *= 10 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="xl">%s</text>`, sx(d), chartH-padB+14, fmtTick(d))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" class="xl">ms (log scale)</text>`, (chartW+padL)/2, chartH-4)
	for _, br := range bars {
		x0, x1 := sx(br.lo), sx(br.hi)
		if x1-x0 < 1 {
			x1 = x0 + 1
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1f77b4"/>`, x0, sy(br.pct), x1-x0, sy(0)-sy(br.pct))
	}
	for _, m := range []struct {
		name string
		v    float64
	}{{"p50", p50}, {"p99", p99}} {
		x := sx(math.Max(m.v, lo))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="#d62728" stroke-dasharray="3,2"/><text x="%.1f" y="%g" class="m">%s %s</text>`,
			x, x, padT, chartH-padB, x+3, padT+10, m.name, fmtTick(m.v))
	}
	b.WriteString(`</svg>`)
	return b.String()
}
