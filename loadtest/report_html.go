package loadtest

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"sort"
	"time"

	"github.com/plenaryhq/plenary/loadtest/hist"
)

// htmlTemplate is the report page: one file, inline CSS and SVG, no
// external assets, readable offline and attachable to a ticket.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"mib": func(b uint64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Load test {{.R.Scenario}} — {{if .R.Pass}}PASS{{else}}FAIL{{end}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}.pass{color:#2ca02c;font-weight:bold}.fail{color:#d62728;font-weight:bold}
svg{display:block;margin:1em 0;background:#fcfcfc}svg .g{stroke:#e5e5e5}svg text{font:11px system-ui,sans-serif;fill:#444}
svg .yl{text-anchor:end}svg .xl{text-anchor:middle}svg .t{font-weight:bold;font-size:12px}svg .m{fill:#d62728}
.muted{color:#777}
</style></head><body>
<h1>Load test: {{.R.Scenario}} <span class="{{if .R.Pass}}pass{{else}}fail{{end}}">{{if .R.Pass}}PASS{{else}}FAIL{{end}}</span></h1>
{{with .R.Description}}<p>{{.}}</p>{{end}}
<p class="muted">Run {{.R.RunID}} · {{.Start}} · {{.R.DurationS}} s · {{.R.Bots}} bots ({{.R.BotsJoined}} joined) · {{len .R.Shards}} shard(s)</p>

<h2>Service levels</h2>
{{if .SLO}}<table><tr><th>SLO</th><th>target</th><th>actual</th><th></th></tr>
{{range .SLO}}<tr><td>{{.Name}}</td><td>{{.Op}} {{.Target}}</td><td>{{.Actual}}</td><td class="{{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}pass{{else}}FAIL{{end}}</td></tr>
{{end}}</table>{{else}}<p>No SLOs set.</p>{{end}}

<h2>Latency (ms)</h2>
<table><tr><th>measure</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
{{range .Latency}}<tr><td>{{.Name}}</td><td>{{.Q.Count}}</td><td>{{.Q.P50}}</td><td>{{.Q.P90}}</td><td>{{.Q.P99}}</td><td>{{.Q.P999}}</td><td>{{.Q.Max}}</td><td>{{.Q.Mean}}</td></tr>
{{end}}</table>

<h2>Chat</h2>
<table>
<tr><td>messages sent / acked / received</td><td>{{.R.Chat.Sent}} / {{.R.Chat.Acked}} / {{.R.Chat.Received}}</td></tr>
<tr><td>room events expected</td><td>{{.R.Chat.Expected}}</td></tr>
<tr><td>delivered + missing</td><td>{{.R.Chat.Delivered}} + {{.R.Chat.Missing}} ({{.R.Chat.MissingPct}}% missing)</td></tr>
<tr><td>duplicates</td><td>{{.R.Chat.Duplicates}}</td></tr>
<tr><td>reactions / questions / upvotes / votes / polls</td><td>{{.R.Chat.Reactions}} / {{.R.Chat.Questions}} / {{.R.Chat.Upvotes}} / {{.R.Chat.Votes}} / {{.R.Chat.Polls}}</td></tr>
<tr><td>drops / reconnects</td><td>{{.R.Drops}} / {{.R.Reconnects}}</td></tr>
</table>

<h2>Media</h2>
<table>
<tr><td>publishers / subscribers / tracks</td><td>{{.R.Media.Publishers}} / {{.R.Media.Subscribers}} / {{.R.Media.Tracks}}</td></tr>
<tr><td>packets expected</td><td>{{.R.Media.Packets.Expected}}</td></tr>
<tr><td>on time / late / lost / duplicate</td><td>{{.R.Media.Packets.OnTime}} / {{.R.Media.Packets.Late}} / {{.R.Media.Packets.Lost}} / {{.R.Media.Packets.Duplicates}}</td></tr>
<tr><td>loss (lost + late)</td><td>{{.R.Media.LossPct}}%</td></tr>
</table>

<h2>Errors</h2>
{{if .Errors}}<table><tr><th>code</th><th>count</th></tr>{{range .Errors}}<tr><td>{{.Code}}</td><td>{{.N}}</td></tr>{{end}}</table>{{else}}<p>None.</p>{{end}}

<h2>Over time</h2>
{{range .TimeCharts}}{{.}}{{end}}

<h2>Distributions</h2>
{{range .HistCharts}}{{.}}{{end}}

<h2>Shards</h2>
<table><tr><th>shard</th><th>host</th><th>bots</th><th>start</th><th>heap MiB</th><th>RSS MiB</th><th>goroutines</th><th>bytes/bot</th></tr>
{{range .R.Shards}}<tr><td>{{.Index}}/{{.Count}}</td><td>{{.Host}}</td><td>{{.Bots}}</td><td>{{.Start.Format "15:04:05"}}</td><td>{{mib .Memory.HeapBytes}}</td><td>{{mib .Memory.RSSBytes}}</td><td>{{.Memory.Goroutines}}</td><td>{{.Memory.BytesPerBot}}</td></tr>
{{end}}</table>
</body></html>
`))

// htmlSLO is one SLO row.
type htmlSLO struct {
	Name, Op, Actual string
	Target           float64
	Pass             bool
}

// htmlLatency is one latency row.
type htmlLatency struct {
	Name string
	Q    Quantiles
}

// htmlError is one error row.
type htmlError struct {
	Code string
	N    uint64
}

// latencyRows are the latency measures in display order.
func (r *Report) latencyRows() []htmlLatency {
	return []htmlLatency{
		{"WebSocket connect", r.ConnectMS}, {"join", r.JoinMS}, {"reconnect", r.ReconnectMS},
		{"chat delivery", r.Chat.LatencyMS}, {"chat send → ack", r.Chat.AckMS},
		{"first video frame", r.Media.FirstFrameMS}, {"media end-to-end", r.Media.LatencyMS}, {"media jitter", r.Media.JitterMS},
		{"tester timer lag (tester health)", r.TesterLagMS},
	}
}

// HTML renders the report as one self-contained page.
func (r *Report) HTML() ([]byte, error) {
	data := struct {
		R          *Report
		Start      string
		SLO        []htmlSLO
		Latency    []htmlLatency
		Errors     []htmlError
		TimeCharts []template.HTML
		HistCharts []template.HTML
	}{R: r, Start: r.Start.UTC().Format(time.RFC3339), Latency: r.latencyRows()}
	for _, name := range sortedKeys(r.SLO) {
		v := r.SLO[name]
		actual := "no data"
		if v.Actual != nil {
			actual = fmt.Sprint(*v.Actual)
		}
		data.SLO = append(data.SLO, htmlSLO{Name: name, Op: v.Op, Target: v.Target, Actual: actual, Pass: v.Pass})
	}
	for _, code := range sortedKeys(r.Errors) {
		data.Errors = append(data.Errors, htmlError{code, r.Errors[code]})
	}
	data.TimeCharts = r.timeCharts()
	data.HistCharts = r.histCharts()
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("loadtest: render report: %w", err)
	}
	return buf.Bytes(), nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// timeCharts draws the per-second series: latency p50/p99 per metric and
// the main counters, x in seconds since the run's start.
func (r *Report) timeCharts() []template.HTML {
	t0 := float64(r.Start.Unix())
	span := math.Max(math.Ceil(r.DurationS), 1)
	var out []template.HTML
	add := func(svg string) {
		if svg != "" {
			out = append(out, template.HTML(svg)) //nolint:gosec // built from numbers and escaped labels
		}
	}
	// Counter series omit zero seconds; charts show them.
	counter := func(name string) []xy {
		samples := r.Series.Counters[name]
		if len(samples) == 0 {
			return nil
		}
		by := make(map[int64]uint64, len(samples))
		for _, s := range samples {
			by[s.T] = s.V
		}
		pts := make([]xy, 0, int(span)+1)
		for sec := r.Start.Unix(); sec <= r.Start.Unix()+int64(span); sec++ {
			pts = append(pts, xy{float64(sec) - t0, float64(by[sec])})
		}
		return pts
	}
	add(lineChart("Bots connected", "seconds since start", "bots", 0, span, []line{{"connected", chartColors[0], counter(gaugeConnected)}}))
	add(lineChart("Chat messages sent per second", "seconds since start", "msgs/s", 0, span, []line{
		{"sent", chartColors[0], counter(CounterChatSent.String())},
	}))
	add(lineChart("Chat messages delivered per second (all bots)", "seconds since start", "msgs/s", 0, span, []line{
		{"delivered", chartColors[2], counter(CounterChatReceived.String())},
	}))
	add(lineChart("Errors and drops per second", "seconds since start", "per s", 0, span, []line{
		{"errors", chartColors[1], counter(CounterErrors.String())},
		{"drops", chartColors[3], counter(CounterDrops.String())},
	}))
	for _, m := range []Metric{MetricJoin, MetricChatLatency, MetricFirstFrame, MetricMediaLatency, MetricTesterLag} {
		secs := r.Series.Latency[m.String()]
		if len(secs) == 0 {
			continue
		}
		var p50, p99 []xy
		for _, s := range secs {
			x := float64(s.T) - t0
			p50 = append(p50, xy{x, float64(s.H.Quantile(0.5)) / 1000})
			p99 = append(p99, xy{x, float64(s.H.Quantile(0.99)) / 1000})
		}
		add(lineChart(fmt.Sprintf("%s latency over time", m), "seconds since start", "ms", 0, span, []line{
			{"p50", chartColors[0], p50}, {"p99", chartColors[1], p99},
		}))
	}
	return out
}

// histCharts draws the whole-run distributions of the latency metrics.
func (r *Report) histCharts() []template.HTML {
	var out []template.HTML
	for m := Metric(0); m < numMetrics; m++ {
		s := r.Histograms[m.String()]
		if s.Empty() {
			continue
		}
		svg := histChart(fmt.Sprintf("%s distribution (%d samples)", m, s.Count), logBins(s, 40),
			float64(s.Quantile(0.5))/1000, float64(s.Quantile(0.99))/1000)
		if svg != "" {
			out = append(out, template.HTML(svg)) //nolint:gosec // built from numbers and escaped labels
		}
	}
	return out
}

// logBins regroups a snapshot (µs) into about n bins of equal width on a
// log scale, in ms and percent of the samples.
func logBins(s hist.Snapshot, n int) []bar {
	pts := s.Points()
	if len(pts) == 0 {
		return nil
	}
	lo := math.Max(float64(pts[0].Low)/1000, 0.001)
	hi := math.Max(float64(pts[len(pts)-1].High+1)/1000, lo*1.001)
	ratio := math.Pow(hi/lo, 1/float64(n))
	bars := make([]bar, n)
	edge := lo
	for i := range bars {
		bars[i] = bar{lo: edge, hi: edge * ratio}
		edge *= ratio
	}
	for _, p := range pts {
		v := math.Max(float64(p.Low)/1000, lo)
		i := int(math.Log(v/lo) / math.Log(ratio))
		i = max(0, min(i, n-1))
		bars[i].pct += 100 * float64(p.Count) / float64(s.Count)
	}
	out := bars[:0]
	for _, b := range bars {
		if b.pct > 0 {
			out = append(out, b)
		}
	}
	return out
}
