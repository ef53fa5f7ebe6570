package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// progressEvery is the interval of ticks and progress lines.
const progressEvery = time.Second

// ticker closes each second in the recorder and prints the progress line,
// until done is closed.
func (r *run) ticker(done <-chan struct{}) {
	// Align ticks on wall-clock seconds, so the per-second series of
	// shards started at different instants line up.
	first := time.Until(time.Now().Truncate(time.Second).Add(time.Second))
	timer := time.NewTimer(first)
	defer timer.Stop()
	var p progress
	for {
		select {
		case <-timer.C:
		case <-done:
			return
		}
		timer.Reset(time.Until(time.Now().Truncate(time.Second).Add(progressEvery)))
		r.rec.Tick()
		if r.opts.Progress != nil {
			_, _ = io.WriteString(r.opts.Progress, p.line(r.rec, time.Since(r.start), len(r.bots))+"\n")
		}
	}
}

// lagEvery is the period of the tester's health timer.
const lagEvery = 100 * time.Millisecond

// lagMonitor records how late a 100 ms timer fires, until done is closed.
func (r *run) lagMonitor(done <-chan struct{}) {
	t := time.NewTicker(lagEvery)
	defer t.Stop()
	for {
		select {
		case at := <-t.C:
			r.rec.Observe(MetricTesterLag, time.Since(at))
		case <-done:
			return
		}
	}
}

// progress formats the live status line from per-second differences.
type progress struct {
	last [numCounters]uint64
}

// line returns one status line: elapsed time, bots, chat rates, p99s,
// media loss, drops and errors.
func (p *progress) line(rec *Recorder, elapsed time.Duration, bots int) string {
	var cur [numCounters]uint64
	for c := Counter(0); c < numCounters; c++ {
		cur[c] = rec.Count(c)
	}
	d := func(c Counter) uint64 { return cur[c] - p.last[c] }
	p99 := func(s interface{ Quantile(float64) int64 }) string {
		return fmtMS(float64(s.Quantile(0.99)) / 1000)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%5ds  bots %d/%d up", int(elapsed.Seconds()), rec.ConnectedNow(), bots)
	fmt.Fprintf(&b, " | chat %d/s sent, %s/s recv", d(CounterChatSent), fmtCount(d(CounterChatReceived)))
	fmt.Fprintf(&b, " | p99 join %s chat %s", p99(rec.Total(MetricJoin)), p99(rec.LastSecond(MetricChatLatency)))
	if cur[CounterTracks] > 0 {
		loss := 0.0
		if e := cur[CounterPacketsExpected]; e > 0 {
			loss = 100 * float64(e-min(e, cur[CounterPacketsOnTime])) / float64(e)
		}
		fmt.Fprintf(&b, " media %s loss %.2f%%", p99(rec.LastSecond(MetricMediaLatency)), loss)
	}
	fmt.Fprintf(&b, " | drops %d reconnects %d", cur[CounterDrops], cur[CounterReconnects])
	if lag := rec.LastSecond(MetricTesterLag).Max; lag >= 50_000 {
		fmt.Fprintf(&b, " | TESTER LAG %s", fmtMS(float64(lag)/1000))
	}
	fmt.Fprintf(&b, " | errors %d", cur[CounterErrors])
	if errs := rec.Errors(); len(errs) > 0 {
		codes := make([]string, 0, len(errs))
		for k := range errs {
			codes = append(codes, k)
		}
		sort.Slice(codes, func(i, j int) bool { return errs[codes[i]] > errs[codes[j]] })
		if len(codes) > 3 {
			codes = codes[:3]
		}
		parts := make([]string, len(codes))
		for i, k := range codes {
			parts[i] = fmt.Sprintf("%s:%d", k, errs[k])
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, " "))
	}
	p.last = cur
	return b.String()
}

// fmtMS formats milliseconds compactly.
func fmtMS(ms float64) string {
	switch {
	case ms == 0:
		return "-"
	case ms >= 10_000:
		return fmt.Sprintf("%.0fs", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	default:
		return fmt.Sprintf("%.1fms", ms)
	}
}

// fmtCount formats a count with k/M suffixes.
func fmtCount(n uint64) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 10_000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
