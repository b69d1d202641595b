package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// plotColors are distinguishable for most readers (Okabe-Ito).
var plotColors = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

// WriteLatencyPlot draws each target's latency by percentile as an SVG: the
// percentile axis is spread as 1/(1-p), so 90%, 99%, 99.9% and 99.99% are
// evenly spaced and the tail is as visible as the median.
func WriteLatencyPlot(w io.Writer, title string, results []*TargetResult) error {
	const (
		width, height            = 860, 480
		left, right, top, bottom = 70, 180, 50, 60
		plotW, plotH             = width - left - right, height - top - bottom
		nines                    = 4.0 // up to 99.99%
		step                     = 0.02
	)
	type series struct {
		name string
		ms   []float64 // at x = 0, step, 2*step, ... nines
	}
	var all []series
	top99 := 0.0
	for _, tr := range results {
		if tr.Latency == nil || tr.Latency.TotalCount() == 0 {
			continue
		}
		s := series{name: tr.Name}
		for x := 0.0; x <= nines+1e-9; x += step {
			q := 100 * (1 - math.Pow(10, -x))
			v := float64(tr.Latency.ValueAtQuantile(q)) / 1000 // µs → ms
			s.ms = append(s.ms, v)
			top99 = math.Max(top99, v)
		}
		all = append(all, s)
	}
	yMax, yStep := niceScale(top99)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="16">%s</text>`+"\n", left, html.EscapeString(title))
	xOf := func(x float64) float64 { return left + x/nines*plotW }
	yOf := func(ms float64) float64 { return top + plotH - ms/yMax*plotH }
	for y := 0.0; y <= yMax+1e-9; y += yStep {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, left, left+plotW, yOf(y), yOf(y))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", left-8, yOf(y), trimFloat(y))
	}
	for i, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%"} {
		x := xOf(float64(i))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`, x, x, top, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, top+plotH+18, label)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">percentile</text>`+"\n", left+plotW/2, height-16)
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">latency (ms)</text>`+"\n", top+plotH/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, top, plotW, plotH)
	for i, s := range all {
		color := plotColors[i%len(plotColors)]
		var pts []string
		for j, v := range s.ms {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(float64(j)*step), yOf(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		ly := top + 10 + i*22
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`, left+plotW+16, left+plotW+40, ly, ly, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", left+plotW+48, ly, html.EscapeString(s.name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceScale is an axis top at or above max and a step of 1, 2 or 5 times a
// power of ten giving 4 to 10 ticks.
func niceScale(max float64) (top, step float64) {
	if max <= 0 {
		return 1, 0.2
	}
	step = math.Pow(10, math.Floor(math.Log10(max)))
	for _, m := range []float64{0.1, 0.2, 0.5, 1} {
		if s := step * m; max/s <= 10 {
			step = s
			break
		}
	}
	return math.Ceil(max/step) * step, step
}

func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
