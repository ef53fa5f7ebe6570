package loadtest

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for recorders.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// recordedSample is one measurement of a recorded run: what happened and
// in which second.
type recordedSample struct {
	sec     int
	metric  Metric
	latency time.Duration
	counter Counter
	err     string
	shard   int
}

// recordedRun generates a minute of measurements: latencies of every
// metric, counters and errors, each assigned to one of two shards.
func recordedRun(seed uint64) []recordedSample {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var out []recordedSample
	for sec := 0; sec < 60; sec++ {
		for i := 0; i < 200; i++ {
			s := recordedSample{sec: sec, shard: rng.IntN(2), counter: Counter(255)}
			switch rng.IntN(4) {
			case 0, 1:
				s.metric = Metric(rng.IntN(int(numMetrics)))
				s.latency = time.Duration(rng.ExpFloat64() * float64(30*time.Millisecond))
			case 2:
				s.metric = Metric(255)
				s.counter = Counter(rng.IntN(int(numCounters)))
			default:
				s.metric = Metric(255)
				s.err = []string{"4400", "network", "close_4401"}[rng.IntN(3)]
			}
			out = append(out, s)
		}
	}
	return out
}

// replay feeds samples (of one shard, or all with shard -1) into a new
// recorder, ticking each second, and returns its report.
func replay(t *testing.T, sc *Scenario, samples []recordedSample, shard Shard, only int, bots int) *Report {
	t.Helper()
	t0 := time.Unix(1_700_000_000, 0)
	clk := &fakeClock{t: t0}
	rec := NewRecorder(clk.now)
	sec := 0
	for _, s := range samples {
		for sec < s.sec {
			sec++
			clk.t = t0.Add(time.Duration(sec) * time.Second)
			rec.Tick()
		}
		if only >= 0 && s.shard != only {
			continue
		}
		switch {
		case s.metric < numMetrics:
			rec.Observe(s.metric, s.latency)
		case s.counter < numCounters:
			rec.Inc(s.counter)
		case s.err != "":
			rec.Error(s.err)
		}
	}
	return buildReport(runMeta{scenario: sc, runID: "r1", shard: shard, bots: bots, start: t0, end: t0.Add(61 * time.Second)}, rec.Snapshot())
}

func testScenario(t *testing.T) *Scenario {
	t.Helper()
	sc, err := ParseScenario([]byte(`
name: merge
duration: 1m
groups:
  - {name: c, kind: chat, count: 25, rooms: [a]}
slo:
  join_p99_ms: 50
  chat_delivery_p99_ms: 500
  errors_max: 1000000
`))
	require.NoError(t, err)
	return sc
}

// TestMergeEqualsSingleRun is the acceptance test of sharding: the same
// recorded data split over two shards and merged gives exactly the
// histograms, counters, series and summary of one run that recorded all.
func TestMergeEqualsSingleRun(t *testing.T) {
	sc := testScenario(t)
	samples := recordedRun(42)
	one := replay(t, sc, samples, Shard{0, 1}, -1, 25)
	a := replay(t, sc, samples, Shard{0, 2}, 0, 13)
	b := replay(t, sc, samples, Shard{1, 2}, 1, 12)

	dir := t.TempDir()
	da, db := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, a.Write(da))
	require.NoError(t, b.Write(db))
	merged, err := Merge(db, da) // order does not matter
	require.NoError(t, err)

	require.Len(t, merged.Shards, 2)
	require.Equal(t, 0, merged.Shards[0].Index)
	for _, r := range []*Report{one, merged} {
		r.Shards = nil
	}
	require.Equal(t, one.Histograms, merged.Histograms, "histograms merge exactly")
	require.Equal(t, one.Series, merged.Series, "per-second series merge exactly")
	wantJSON, err := json.Marshal(one)
	require.NoError(t, err)
	gotJSON, err := json.Marshal(merged)
	require.NoError(t, err)
	require.JSONEq(t, string(wantJSON), string(gotJSON), "the whole report is identical")
	require.Equal(t, 25, merged.Bots)
	require.Greater(t, merged.JoinMS.Count, uint64(0))
}

func TestMergeRefusals(t *testing.T) {
	sc := testScenario(t)
	samples := recordedRun(7)
	a := replay(t, sc, samples, Shard{0, 2}, 0, 1)
	b := replay(t, sc, samples, Shard{1, 2}, 1, 1)
	three := replay(t, sc, samples, Shard{1, 3}, 1, 1)
	other := replay(t, sc, samples, Shard{1, 2}, 1, 1)
	other.Scenario = "other"
	otherSLO := replay(t, sc, samples, Shard{1, 2}, 1, 1)
	otherSLO.SLO["join_p99_ms"] = SLOResult{Target: 1, Op: "<="}
	tests := []struct {
		name    string
		reports []*Report
		want    string
	}{
		{"nothing", nil, "nothing to merge"},
		{"twice", []*Report{a, a, b}, "given twice"},
		{"missing", []*Report{a}, "missing"},
		{"other count", []*Report{a, three}, "does not belong"},
		{"other scenario", []*Report{a, other}, "scenario"},
		{"other targets", []*Report{a, otherSLO}, "SLO targets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MergeReports(tc.reports...)
			require.ErrorIs(t, err, ErrInvalidReport)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := Merge(filepath.Join(t.TempDir(), "nope"))
	require.ErrorIs(t, err, ErrInvalidReport)
}

func TestReportFieldsAndHTML(t *testing.T) {
	sc := testScenario(t)
	rep := replay(t, sc, recordedRun(3), Shard{0, 1}, -1, 25)
	dir := t.TempDir()
	require.NoError(t, rep.Write(dir))

	raw, err := os.ReadFile(filepath.Join(dir, ReportJSON))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	for _, path := range []string{"bots", "duration_s", "join_ms.p50", "join_ms.p99", "chat.sent", "chat.expected",
		"chat.delivered", "chat.duplicates", "chat.latency_ms.p50", "chat.latency_ms.p99", "chat.latency_ms.p999",
		"media.subscribers", "media.first_frame_ms.p50", "media.first_frame_ms.p99", "media.latency_ms.p50",
		"media.latency_ms.p99", "media.loss_pct", "errors", "slo.join_p99_ms.target", "slo.join_p99_ms.actual",
		"slo.join_p99_ms.pass", "histograms.join.buckets", "series.latency"} {
		var cur any = doc
		for _, k := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			require.Truef(t, ok, "%s: %s is not an object", path, k)
			cur, ok = m[k]
			require.Truef(t, ok, "report.json has %s", path)
		}
	}

	html, err := os.ReadFile(filepath.Join(dir, ReportHTML))
	require.NoError(t, err)
	page := string(html)
	require.Contains(t, page, "<svg")
	require.Contains(t, page, "latency over time")
	require.Contains(t, page, "distribution")
	for _, external := range []string{"src=", "href=", "@import", "url("} {
		require.NotContains(t, page, external, "self-contained: no external assets")
	}
}

func TestSLOVerdicts(t *testing.T) {
	sc := testScenario(t)
	rep := replay(t, sc, recordedRun(5), Shard{0, 1}, -1, 25)
	// Latencies are ~30 ms exponential: p99 near 140 ms fails 50, passes 500.
	require.False(t, rep.SLO["join_p99_ms"].Pass)
	require.True(t, rep.SLO["chat_delivery_p99_ms"].Pass)
	require.True(t, rep.SLO["errors_max"].Pass)
	require.False(t, rep.Pass)
	require.Equal(t, []string{"join_p99_ms"}, rep.Failed())
	require.ErrorIs(t, rep.Err(), ErrSLOFailed)
	require.Contains(t, rep.Err().Error(), "join_p99_ms")

	// An SLO on something never measured fails with no data.
	sc.SLO.FirstFrameP99MS = ptr(1000.0)
	empty := replay(t, sc, nil, Shard{0, 1}, -1, 1)
	v := empty.SLO["first_frame_p99_ms"]
	require.Nil(t, v.Actual)
	require.False(t, v.Pass)
	require.Contains(t, empty.Err().Error(), "no data")
}
