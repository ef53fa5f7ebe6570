package loadtest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/plenaryhq/plenary/loadtest/hist"
)

// ReportFormat is the version of report.json's layout.
const ReportFormat = 1

// File names written by Report.Write.
const (
	ReportJSON = "report.json"
	ReportHTML = "report.html"
)

// Report is the outcome of a run or of merged shard runs. The summary
// fields are computed from Measurements (finalize), so a merged report's
// figures are exactly those one process would have reported for all the
// recorded data.
type Report struct {
	// Format is ReportFormat.
	Format int `json:"format"`
	// Scenario is the scenario's name; Description its description.
	Scenario string `json:"scenario"`
	// Description: see Scenario.
	Description string `json:"description,omitempty"`
	// RunID identifies the run; shards of one run share it.
	RunID string `json:"run_id"`
	// Shards describe the processes whose measurements the report holds.
	Shards []ShardInfo `json:"shards"`
	// Start and End bound the run (earliest start, latest end).
	Start time.Time `json:"start"`
	// End: see Start.
	End time.Time `json:"end"`
	// Bots is the number of bots run; BotsJoined how many joined.
	Bots int `json:"bots"`
	// BotsJoined: see Bots.
	BotsJoined uint64 `json:"bots_joined"`
	// DurationS is End - Start in seconds.
	DurationS float64 `json:"duration_s"`
	// ConnectMS is WebSocket connect time.
	ConnectMS Quantiles `json:"connect_ms"`
	// JoinMS is join time (request to ack).
	JoinMS Quantiles `json:"join_ms"`
	// ReconnectMS is the time bots took to come back after a drop.
	ReconnectMS Quantiles `json:"reconnect_ms"`
	// TesterLagMS is how late the tester's own timer fired (its health:
	// high values mean the tester was short of CPU and its latencies are
	// inflated).
	TesterLagMS Quantiles `json:"tester_lag_ms"`
	// Chat summarises chat traffic, latency and completeness.
	Chat ChatSummary `json:"chat"`
	// Media summarises viewer measurements.
	Media MediaSummary `json:"media"`
	// Reconnects counts successful returns after drops; Drops the drops.
	Reconnects uint64 `json:"reconnects"`
	// Drops: see Reconnects.
	Drops uint64 `json:"drops"`
	// ErrorsTotal is the sum of Errors (error counts by code, in
	// Measurements).
	ErrorsTotal uint64 `json:"errors_total"`
	// SLO are the verdicts by SLO name; Pass is true when all passed.
	SLO map[string]SLOResult `json:"slo"`
	// Pass: see SLO.
	Pass bool `json:"pass"`
	// Measurements are the raw data the summary is computed from.
	Measurements
}

// ShardInfo describes one load-tester process of a run.
type ShardInfo struct {
	// Index and Count are the shard's position (--shard i/n).
	Index int `json:"index"`
	// Count: see Index.
	Count int `json:"count"`
	// Host is the machine the shard ran on.
	Host string `json:"host,omitempty"`
	// Bots is how many bots the shard ran.
	Bots int `json:"bots"`
	// Start and End bound the shard's run.
	Start time.Time `json:"start"`
	// End: see Start.
	End time.Time `json:"end"`
	// Memory is what the shard's process used.
	Memory MemoryStats `json:"memory"`
}

// MemoryStats are a shard's memory figures, measured when the run's
// duration ends (every bot that will connect has, none has left).
type MemoryStats struct {
	// HeapBytes is the live Go heap at the end of the run's duration
	// (after a GC).
	HeapBytes uint64 `json:"heap_bytes"`
	// StackBytes is goroutine stack memory then.
	StackBytes uint64 `json:"stack_bytes"`
	// Goroutines is the goroutine count then.
	Goroutines int `json:"goroutines"`
	// RSSBytes is the process's peak resident set (Linux VmHWM; 0 elsewhere).
	RSSBytes uint64 `json:"rss_bytes"`
	// BytesPerBot estimates the memory of one bot: live heap and stacks
	// beyond the idle baseline, after a GC at the end of the run's
	// duration, divided by the bots connected then. With chat bots only it
	// is the memory per chat bot.
	BytesPerBot uint64 `json:"bytes_per_bot"`
	// BotsMeasured is the number of connected bots BytesPerBot divides by.
	BotsMeasured int64 `json:"bots_measured"`
}

// Quantiles summarise one latency histogram in milliseconds.
type Quantiles struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// quantilesMS summarises a histogram of microseconds in milliseconds.
func quantilesMS(s hist.Snapshot) Quantiles {
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	return Quantiles{
		Count: s.Count, Mean: round3(s.Mean() / 1000),
		P50: ms(s.Quantile(0.50)), P90: ms(s.Quantile(0.90)), P99: ms(s.Quantile(0.99)),
		P999: ms(s.Quantile(0.999)), Max: ms(s.Max),
	}
}

// round3 rounds to three decimals, so reports compare and read well.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// ChatSummary is chat traffic, delivery latency and completeness.
// Completeness counts every sequenced room event (chat messages,
// reactions, questions, poll results): Delivered + Missing = Expected.
type ChatSummary struct {
	// Sent counts chat.send requests; Acked those acknowledged.
	Sent uint64 `json:"sent"`
	// Acked: see Sent.
	Acked uint64 `json:"acked"`
	// Received counts chat messages delivered to bots after their join
	// (first copies; not the history replayed at join).
	Received uint64 `json:"received"`
	// Expected counts room events bots should have received.
	Expected uint64 `json:"expected"`
	// Delivered counts expected events that arrived.
	Delivered uint64 `json:"delivered"`
	// Missing counts expected events that never arrived.
	Missing uint64 `json:"missing"`
	// MissingPct is Missing / Expected, percent.
	MissingPct float64 `json:"missing_pct"`
	// Duplicates counts events received more than once.
	Duplicates uint64 `json:"duplicates"`
	// LatencyMS is delivery latency (send time in the text to receipt).
	LatencyMS Quantiles `json:"latency_ms"`
	// AckMS is the round trip of chat.send.
	AckMS Quantiles `json:"ack_ms"`
	// Reactions, Questions, Upvotes, Votes and Polls count those actions.
	Reactions uint64 `json:"reactions"`
	// Questions: see Reactions.
	Questions uint64 `json:"questions"`
	// Upvotes: see Reactions.
	Upvotes uint64 `json:"upvotes"`
	// Votes: see Reactions.
	Votes uint64 `json:"votes"`
	// Polls: see Reactions.
	Polls uint64 `json:"polls"`
}

// MediaSummary is what viewers measured.
type MediaSummary struct {
	// Publishers counts speaker bots publishing.
	Publishers uint64 `json:"publishers"`
	// Subscribers counts viewer bots that received media.
	Subscribers uint64 `json:"subscribers"`
	// Tracks counts tracks received over all viewers.
	Tracks uint64 `json:"tracks"`
	// FirstFrameMS is time from join to the first complete video frame.
	FirstFrameMS Quantiles `json:"first_frame_ms"`
	// LatencyMS is end-to-end latency (payload send time to receipt).
	LatencyMS Quantiles `json:"latency_ms"`
	// JitterMS is per-track interarrival jitter sampled each second.
	JitterMS Quantiles `json:"jitter_ms"`
	// Packets are the packet counts of all tracks (see rtpseq).
	Packets PacketCounts `json:"packets"`
	// LossPct is (lost + late) / expected, percent.
	LossPct float64 `json:"loss_pct"`
}

// PacketCounts are media packet counts over all received tracks.
type PacketCounts struct {
	Expected   uint64 `json:"expected"`
	OnTime     uint64 `json:"on_time"`
	Late       uint64 `json:"late"`
	Lost       uint64 `json:"lost"`
	Duplicates uint64 `json:"duplicates"`
}

// finalize computes every summary field and SLO verdict from the
// measurements, shards and targets. Run and Merge both end with it.
func (r *Report) finalize(slo SLO) {
	r.Format = ReportFormat
	r.Bots = 0
	for _, s := range r.Shards {
		r.Bots += s.Bots
	}
	if !r.Start.IsZero() && r.End.After(r.Start) {
		r.DurationS = round3(r.End.Sub(r.Start).Seconds())
	}
	c := func(c Counter) uint64 { return r.Counters[c.String()] }
	h := func(m Metric) Quantiles { return quantilesMS(r.Histograms[m.String()]) }
	r.BotsJoined = c(CounterBotsJoined)
	r.ConnectMS, r.JoinMS, r.ReconnectMS = h(MetricConnect), h(MetricJoin), h(MetricReconnect)
	r.TesterLagMS = h(MetricTesterLag)
	r.Chat = ChatSummary{
		Sent: c(CounterChatSent), Acked: c(CounterChatAcked), Received: c(CounterChatReceived),
		Expected: c(CounterEventsExpected), Delivered: c(CounterEventsDelivered), Missing: c(CounterEventsMissing),
		Duplicates: c(CounterEventsDuplicate), LatencyMS: h(MetricChatLatency), AckMS: h(MetricChatAck),
		Reactions: c(CounterReactions), Questions: c(CounterQuestions), Upvotes: c(CounterUpvotes),
		Votes: c(CounterVotes), Polls: c(CounterPolls),
	}
	if r.Chat.Expected > 0 {
		r.Chat.MissingPct = round3(100 * float64(r.Chat.Missing) / float64(r.Chat.Expected))
	}
	r.Media = MediaSummary{
		Publishers: c(CounterPublishers), Subscribers: c(CounterSubscribers), Tracks: c(CounterTracks),
		FirstFrameMS: h(MetricFirstFrame), LatencyMS: h(MetricMediaLatency), JitterMS: h(MetricJitter),
		Packets: PacketCounts{Expected: c(CounterPacketsExpected), OnTime: c(CounterPacketsOnTime),
			Late: c(CounterPacketsLate), Lost: c(CounterPacketsLost), Duplicates: c(CounterPacketsDuplicate)},
	}
	if p := r.Media.Packets; p.Expected > 0 {
		r.Media.LossPct = round3(100 * float64(p.Expected-min(p.Expected, p.OnTime)) / float64(p.Expected))
	}
	r.Reconnects, r.Drops = c(CounterReconnects), c(CounterDrops)
	if r.Errors == nil {
		r.Errors = map[string]uint64{}
	}
	r.ErrorsTotal = 0
	for _, v := range r.Errors {
		r.ErrorsTotal += v
	}
	r.SLO = slo.evaluate(r)
	r.Pass = true
	for _, v := range r.SLO {
		r.Pass = r.Pass && v.Pass
	}
}

// Failed lists the names of the SLOs that did not pass, sorted.
func (r *Report) Failed() []string {
	var out []string
	for name, v := range r.SLO {
		if !v.Pass {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Err returns nil when every SLO passed, else an error wrapping
// ErrSLOFailed that names the failures.
func (r *Report) Err() error {
	if r.Pass {
		return nil
	}
	msg := ""
	for i, name := range r.Failed() {
		if i > 0 {
			msg += ", "
		}
		v := r.SLO[name]
		actual := "no data"
		if v.Actual != nil {
			actual = fmt.Sprint(*v.Actual)
		}
		msg += fmt.Sprintf("%s %s (want %s %v)", name, actual, v.Op, v.Target)
	}
	return fmt.Errorf("%w: %s", ErrSLOFailed, msg)
}

// Write writes report.json and report.html into dir, creating it.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("loadtest: report dir: %w", err)
	}
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("loadtest: encode report: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ReportJSON), append(b, '\n')); err != nil {
		return err
	}
	html, err := r.HTML()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ReportHTML), html)
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so a reader never sees half a report.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("loadtest: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("loadtest: write %s: %w", path, err)
	}
	return nil
}

// ReadReport reads and checks dir/report.json (or the file itself when
// path names a file).
func ReadReport(path string) (*Report, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ReportJSON)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidReport, err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidReport, path, err)
	}
	if r.Format != ReportFormat {
		return nil, fmt.Errorf("%w: %s: format %d, this tester reads %d", ErrInvalidReport, path, r.Format, ReportFormat)
	}
	for name, h := range r.Histograms {
		if err := h.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %s: histogram %s: %w", ErrInvalidReport, path, name, err)
		}
	}
	return &r, nil
}
