package loadtest

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plenaryhq/plenary/loadtest/hist"
	"github.com/plenaryhq/plenary/loadtest/rtpseq"
)

// Metric is a latency measured in a histogram (recorded in microseconds).
type Metric uint8

// Latency metrics.
const (
	// MetricConnect is the WebSocket connect time (dial + upgrade).
	MetricConnect Metric = iota
	// MetricJoin is the join request's round trip (join to ack).
	MetricJoin
	// MetricReconnect is the time to resume or rejoin after a drop.
	MetricReconnect
	// MetricChatLatency is chat delivery latency: the send time in the
	// message text to its receipt by another bot.
	MetricChatLatency
	// MetricChatAck is the round trip of chat.send to its ack.
	MetricChatAck
	// MetricFirstFrame is a viewer's time from join to the last packet of
	// its first video frame.
	MetricFirstFrame
	// MetricMediaLatency is media end-to-end latency: the send time inside
	// the RTP payload to its receipt by a viewer.
	MetricMediaLatency
	// MetricJitter is the RFC 3550 interarrival jitter of each track,
	// sampled once per second.
	MetricJitter
	// MetricTesterLag is how late the tester's own 100 ms timer fires: when
	// it grows, the tester (not the target) is short of CPU and its
	// latency figures are inflated.
	MetricTesterLag
	numMetrics
)

var metricNames = [numMetrics]string{"connect", "join", "reconnect", "chat_latency", "chat_ack",
	"first_frame", "media_latency", "jitter", "tester_lag"}

// String is the metric's key in reports.
func (m Metric) String() string {
	if m < numMetrics {
		return metricNames[m]
	}
	return "unknown"
}

// Counter is a monotonic count.
type Counter uint8

// Counters.
const (
	// CounterBotsStarted counts bots that began connecting.
	CounterBotsStarted Counter = iota
	// CounterBotsJoined counts bots whose first join succeeded.
	CounterBotsJoined
	// CounterBotsFailed counts bots that never managed to join.
	CounterBotsFailed
	// CounterChatSent counts chat.send requests sent.
	CounterChatSent
	// CounterChatAcked counts chat.send requests acknowledged.
	CounterChatAcked
	// CounterChatReceived counts chat messages received after the bot's
	// join (first deliveries; not the history replayed at join).
	CounterChatReceived
	// CounterEventsExpected counts room events bots should have received
	// (sequence numbers between their join and the end of the run).
	CounterEventsExpected
	// CounterEventsDelivered counts expected room events received.
	CounterEventsDelivered
	// CounterEventsMissing counts expected room events never received.
	CounterEventsMissing
	// CounterEventsDuplicate counts room events received more than once.
	CounterEventsDuplicate
	// CounterReactions counts chat.react requests sent.
	CounterReactions
	// CounterQuestions counts qa.ask requests sent.
	CounterQuestions
	// CounterUpvotes counts qa.upvote requests sent.
	CounterUpvotes
	// CounterVotes counts poll.vote requests sent.
	CounterVotes
	// CounterPolls counts polls created.
	CounterPolls
	// CounterReconnects counts successful returns after a drop.
	CounterReconnects
	// CounterDrops counts connections that dropped (injected or not).
	CounterDrops
	// CounterDropsInjected counts drops the scenario caused.
	CounterDropsInjected
	// CounterFramesReceived counts WebSocket frames received by bots.
	CounterFramesReceived
	// CounterActionsDropped counts scheduled actions skipped because the
	// tester's workers were busy (the tester, not the target, is the
	// bottleneck when it grows).
	CounterActionsDropped
	// CounterPublishers counts speaker bots publishing.
	CounterPublishers
	// CounterSubscribers counts viewer bots that received media.
	CounterSubscribers
	// CounterTracks counts tracks received by viewers.
	CounterTracks
	// CounterPacketsExpected counts media packets sent to viewers (from
	// sequence numbers), see rtpseq.
	CounterPacketsExpected
	// CounterPacketsOnTime counts media packets that arrived in time.
	CounterPacketsOnTime
	// CounterPacketsLate counts media packets too late to play.
	CounterPacketsLate
	// CounterPacketsLost counts media packets that never arrived.
	CounterPacketsLost
	// CounterPacketsDuplicate counts duplicate media packets.
	CounterPacketsDuplicate
	// CounterErrors counts errors of every code.
	CounterErrors
	numCounters
)

var counterNames = [numCounters]string{"bots_started", "bots_joined", "bots_failed", "chat_sent", "chat_acked",
	"chat_received", "events_expected", "events_delivered", "events_missing", "events_duplicate",
	"reactions", "questions", "upvotes", "votes", "polls", "reconnects", "drops", "drops_injected",
	"frames_received", "actions_dropped", "publishers", "subscribers", "tracks",
	"packets_expected", "packets_on_time", "packets_late", "packets_lost", "packets_duplicate", "errors"}

// String is the counter's key in reports.
func (c Counter) String() string {
	if c < numCounters {
		return counterNames[c]
	}
	return "unknown"
}

// Gauge names of the per-second series.
const (
	gaugeConnected = "connected"
)

// Sample is one second of a counter series: how much the counter grew in
// Unix second T (or, for gauges, its value then).
type Sample struct {
	T int64  `json:"t"`
	V uint64 `json:"v"`
}

// Recorder collects the measurements of one run: latency histograms (the
// whole run, and one per second), counters with per-second deltas, errors
// by code, and the media trackers of viewer bots. Everything bots call is
// safe for concurrent use and lock-free except Error and AddTrack.
type Recorder struct {
	now func() time.Time

	total  [numMetrics]*hist.Histogram
	series [numMetrics]*hist.Series
	counts [numCounters]atomic.Uint64

	connected atomic.Int64

	errMu  sync.Mutex
	errors map[string]uint64

	trMu      sync.Mutex
	trackers  []*rtpseq.Tracker
	mediaLast rtpseq.Stats // totals of finished trackers are folded here

	tickMu   sync.Mutex
	lastSec  int64
	lastVals [numCounters]uint64
	samples  map[string][]Sample
}

// NewRecorder returns a recorder whose clock is now (time.Now if nil).
func NewRecorder(now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	r := &Recorder{now: now, errors: map[string]uint64{}, samples: map[string][]Sample{}}
	sec := now().Unix()
	r.lastSec = sec
	for i := range r.total {
		r.total[i] = hist.New(hist.Fine)
		r.series[i] = hist.NewSeries(hist.Coarse, sec)
	}
	return r
}

// Observe records a latency.
func (r *Recorder) Observe(m Metric, d time.Duration) {
	us := d.Microseconds()
	r.total[m].Record(us)
	r.series[m].Record(us)
}

// Add adds n to counter c.
func (r *Recorder) Add(c Counter, n uint64) { r.counts[c].Add(n) }

// Inc adds one to counter c.
func (r *Recorder) Inc(c Counter) { r.counts[c].Add(1) }

// Count returns counter c.
func (r *Recorder) Count(c Counter) uint64 { return r.counts[c].Load() }

// Connected adds delta (+1 or -1) to the number of connected bots.
func (r *Recorder) Connected(delta int64) { r.connected.Add(delta) }

// ConnectedNow is the number of bots connected now.
func (r *Recorder) ConnectedNow() int64 { return r.connected.Load() }

// Error counts one error under code: a protocol error code ("4400"), a
// close code ("close_4401"), an HTTP status ("http_401") or a name for
// failures without one ("dial", "timeout", "ice_failed").
func (r *Recorder) Error(code string) {
	r.counts[CounterErrors].Add(1)
	r.errMu.Lock()
	r.errors[code]++
	r.errMu.Unlock()
}

// Errors returns a copy of the error counts by code.
func (r *Recorder) Errors() map[string]uint64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	out := make(map[string]uint64, len(r.errors))
	for k, v := range r.errors {
		out[k] = v
	}
	return out
}

// AddTrack registers the tracker of a received media track; its counts
// are summed into the packet counters at every Tick and at the end.
func (r *Recorder) AddTrack(t *rtpseq.Tracker) {
	r.trMu.Lock()
	r.trackers = append(r.trackers, t)
	r.trMu.Unlock()
	r.Inc(CounterTracks)
}

// syncMedia sums the trackers into the packet counters and, when jitter is
// set, samples each track's jitter.
func (r *Recorder) syncMedia(jitter bool) {
	r.trMu.Lock()
	var sum rtpseq.Stats
	for _, t := range r.trackers {
		s := t.Stats()
		sum.Expected += s.Expected
		sum.OnTime += s.OnTime
		sum.Late += s.Late
		sum.Lost += s.Lost
		sum.Duplicates += s.Duplicates
		if jitter && s.Expected > 0 {
			r.Observe(MetricJitter, time.Duration(s.JitterMS*float64(time.Millisecond)))
		}
	}
	r.trMu.Unlock()
	set := func(c Counter, v uint64) { r.counts[c].Store(v) }
	set(CounterPacketsExpected, sum.Expected)
	set(CounterPacketsOnTime, sum.OnTime)
	set(CounterPacketsLate, sum.Late)
	set(CounterPacketsLost, sum.Lost)
	set(CounterPacketsDuplicate, sum.Duplicates)
}

// Tick closes the current second: per-second histograms rotate, counter
// deltas and the connected gauge are sampled, media counters are summed.
// The runner calls it once per second.
func (r *Recorder) Tick() {
	r.syncMedia(true)
	r.tickMu.Lock()
	defer r.tickMu.Unlock()
	sec := r.now().Unix()
	if sec <= r.lastSec {
		sec = r.lastSec + 1
	}
	r.sampleLocked(r.lastSec)
	for _, s := range r.series {
		s.Rotate(sec)
	}
	r.lastSec = sec
}

// sampleLocked appends counter deltas for second sec; tickMu is held.
func (r *Recorder) sampleLocked(sec int64) {
	for c := Counter(0); c < numCounters; c++ {
		v := r.counts[c].Load()
		if d := v - r.lastVals[c]; d != 0 {
			r.samples[c.String()] = append(r.samples[c.String()], Sample{T: sec, V: d})
		}
		r.lastVals[c] = v
	}
	if n := r.connected.Load(); n > 0 {
		r.samples[gaugeConnected] = append(r.samples[gaugeConnected], Sample{T: sec, V: uint64(n)})
	}
}

// Measurements is what a recorder holds, in the form reports carry and
// merge: histogram snapshots, counters, errors and series.
type Measurements struct {
	// Histograms are the whole-run latency histograms, µs, by metric.
	Histograms map[string]hist.Snapshot `json:"histograms"`
	// Counters are the final counter values, by name.
	Counters map[string]uint64 `json:"counters"`
	// Errors are error counts by code.
	Errors map[string]uint64 `json:"errors"`
	// Series are the per-second histograms and counter samples.
	Series Series `json:"series"`
}

// Series are the per-second measurements of a run, aligned on Unix seconds.
type Series struct {
	// Latency holds one coarse histogram per second per metric, µs.
	Latency map[string][]hist.Second `json:"latency"`
	// Counters hold per-second counter deltas and gauges.
	Counters map[string][]Sample `json:"counters"`
}

// Snapshot returns the recorder's measurements, closing the current
// second first. Call it when the run is over.
func (r *Recorder) Snapshot() Measurements {
	r.syncMedia(false)
	r.tickMu.Lock()
	r.sampleLocked(r.lastSec)
	m := Measurements{
		Histograms: make(map[string]hist.Snapshot, numMetrics),
		Counters:   make(map[string]uint64, numCounters),
		Errors:     r.Errors(),
		Series:     Series{Latency: map[string][]hist.Second{}, Counters: map[string][]Sample{}},
	}
	for k, v := range r.samples {
		m.Series.Counters[k] = append([]Sample(nil), v...)
	}
	r.tickMu.Unlock()
	for i := Metric(0); i < numMetrics; i++ {
		m.Histograms[i.String()] = r.total[i].Snapshot()
		if secs := r.series[i].Snapshot(); len(secs) > 0 {
			m.Series.Latency[i.String()] = secs
		}
	}
	for c := Counter(0); c < numCounters; c++ {
		m.Counters[c.String()] = r.counts[c].Load()
	}
	return m
}

// mergeSamples sums two sample lists second by second.
func mergeSamples(a, b []Sample) []Sample {
	by := make(map[int64]uint64, len(a)+len(b))
	for _, s := range a {
		by[s.T] += s.V
	}
	for _, s := range b {
		by[s.T] += s.V
	}
	out := make([]Sample, 0, len(by))
	for t, v := range by {
		out = append(out, Sample{T: t, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// Merge returns the measurements of m and o together, exactly.
func (m Measurements) Merge(o Measurements) (Measurements, error) {
	out := Measurements{
		Histograms: map[string]hist.Snapshot{},
		Counters:   map[string]uint64{},
		Errors:     map[string]uint64{},
		Series:     Series{Latency: map[string][]hist.Second{}, Counters: map[string][]Sample{}},
	}
	for _, src := range []Measurements{m, o} {
		for k, h := range src.Histograms {
			merged, err := out.Histograms[k].Merge(h)
			if err != nil {
				return out, err
			}
			out.Histograms[k] = merged
		}
		for k, v := range src.Counters {
			out.Counters[k] += v
		}
		for k, v := range src.Errors {
			out.Errors[k] += v
		}
		for k, secs := range src.Series.Latency {
			merged, err := hist.MergeSeconds(out.Series.Latency[k], secs)
			if err != nil {
				return out, err
			}
			out.Series.Latency[k] = merged
		}
		for k, s := range src.Series.Counters {
			out.Series.Counters[k] = mergeSamples(out.Series.Counters[k], s)
		}
	}
	return out, nil
}

// Total returns the whole-run histogram of m so far.
func (r *Recorder) Total(m Metric) hist.Snapshot { return r.total[m].Snapshot() }

// LastSecond returns the histogram of m over the last complete second.
func (r *Recorder) LastSecond(m Metric) hist.Snapshot { return r.series[m].Last() }
