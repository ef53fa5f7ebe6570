// Package rtpseq counts what a viewer actually gets from one RTP stream:
// packets that arrived in time to be played, packets that arrived too late
// for a jitter buffer, duplicates, and gaps that were never filled.
//
// Loss is computed from sequence numbers, not from drop events: the stream's
// extended highest sequence number minus its first says how many packets
// were sent (RFC 3550 §6.4.1, "cumulative number of packets lost"), and
// every packet that did not arrive in time to play counts against it. A
// subscriber receiving every other packet therefore shows 50% loss, and one
// whose retransmissions arrive after the playout deadline shows them as
// late, not as received.
package rtpseq

import (
	"math"
	"sync"
	"time"
)

// window is how many sequence numbers behind the highest one a packet may
// arrive and still be recognised (as late or duplicate). At 1,000 packets
// per second it is four seconds, far beyond any jitter buffer.
const window = 4096

// Outcome is what Push made of one packet.
type Outcome uint8

// Outcomes of Push.
const (
	// OutcomeUnknown is the zero value.
	OutcomeUnknown Outcome = iota
	// OnTime: first copy, arrived before its playout deadline.
	OnTime
	// Late: first copy, but after its playout deadline.
	Late
	// Duplicate: a copy of a packet already counted.
	Duplicate
	// TooOld: further behind the highest sequence number than the tracker
	// remembers; counted as late.
	TooOld
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OnTime:
		return "on-time"
	case Late:
		return "late"
	case Duplicate:
		return "duplicate"
	case TooOld:
		return "too-old"
	}
	return "unknown"
}

// Tracker follows one received RTP stream (one SSRC). Push is called by the
// goroutine reading the track; Stats may be called concurrently.
type Tracker struct {
	clock    float64 // RTP clock rate, Hz
	deadline time.Duration

	mu      sync.Mutex
	started bool
	baseExt int64 // extended sequence number of the first packet
	maxExt  int64 // highest extended sequence number
	seen    [window / 64]uint64

	tsInit bool
	maxTS  int64 // highest extended RTP timestamp
	// Lowest transit times seen, ns (the stream's best delay): one for
	// packets with a send time, one for those judged on RTP timestamps
	// (padding and probes an SFU inserts carry no send time), as the two
	// are measured from different origins.
	minSent, minRTP   int64
	haveSent, haveRTP bool

	jitter    float64 // RFC 3550 A.8 interarrival jitter, in RTP units
	lastTrans float64
	haveTrans bool

	onTime, late, dups, tooOld uint64
}

// New returns a tracker for a stream with clockRate (90000 for video,
// 48000 for Opus) whose player buffers deadline: a packet arriving more than
// deadline after the best delay the stream has seen is late.
func New(clockRate uint32, deadline time.Duration) *Tracker {
	if clockRate == 0 {
		clockRate = 90000
	}
	return &Tracker{clock: float64(clockRate), deadline: deadline}
}

// Stats are a stream's cumulative counts.
type Stats struct {
	// Expected is how many packets the sender sent: highest minus first
	// extended sequence number, plus one.
	Expected uint64 `json:"expected"`
	// OnTime counts first copies that arrived before their deadline.
	OnTime uint64 `json:"on_time"`
	// Late counts first copies that arrived after their deadline
	// (including those too old to be told apart from duplicates).
	Late uint64 `json:"late"`
	// Lost counts packets that never arrived: Expected - OnTime - Late.
	Lost uint64 `json:"lost"`
	// Duplicates counts extra copies.
	Duplicates uint64 `json:"duplicates"`
	// JitterMS is the RFC 3550 interarrival jitter estimate, ms.
	JitterMS float64 `json:"jitter_ms"`
}

// Unplayable is what the viewer missed: lost plus late packets.
func (s Stats) Unplayable() uint64 { return s.Expected - min(s.Expected, s.OnTime) }

// LossPct is the unplayable share of expected packets, in percent.
func (s Stats) LossPct() float64 {
	if s.Expected == 0 {
		return 0
	}
	return 100 * float64(s.Unplayable()) / float64(s.Expected)
}

// Push counts one arriving packet: its sequence number and RTP timestamp,
// when it arrived, and, if the payload carries one, when it was sent
// (zero if unknown). The playout deadline is judged on the send time when
// given (it is immune to timestamp rewriting by an SFU), else on the RTP
// timestamp.
func (t *Tracker) Push(seq uint16, ts uint32, arrival, sent time.Time) Outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	if out, ok := t.place(seq); !ok {
		return out
	}
	if t.timing(ts, arrival, sent) {
		t.late++
		return Late
	}
	t.onTime++
	return OnTime
}

// Fill counts a packet that carries no media (padding-only packets an SFU
// sends to probe bandwidth): it occupies a sequence number and arrived,
// but has no playout deadline, so it counts as on time (or duplicate).
func (t *Tracker) Fill(seq uint16) Outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	out, ok := t.place(seq)
	if ok {
		t.onTime++
	}
	return out
}

// place marks seq as received. It returns false, with the outcome, for a
// duplicate or a packet too old to tell.
func (t *Tracker) place(seq uint16) (Outcome, bool) {
	if !t.started {
		t.started = true
		t.baseExt, t.maxExt = int64(seq), int64(seq)
		t.mark(int64(seq))
		return OnTime, true
	}
	ext := t.maxExt + int64(int16(seq-uint16(t.maxExt)))
	switch {
	case ext > t.maxExt:
		t.advance(ext)
	case ext <= t.maxExt-window:
		t.tooOld++
		return TooOld, false
	case t.marked(ext):
		t.dups++
		return Duplicate, false
	}
	// A packet older than the first one seen, reordered, means the stream
	// started earlier than we thought.
	t.baseExt = min(t.baseExt, ext)
	t.mark(ext)
	return OnTime, true
}

// advance moves the highest sequence number to ext, forgetting the bits
// that leave the window.
func (t *Tracker) advance(ext int64) {
	if ext-t.maxExt >= window {
		t.seen = [window / 64]uint64{}
	} else {
		for s := t.maxExt + 1; s <= ext; s++ {
			t.unmark(s)
		}
	}
	t.maxExt = ext
}

func (t *Tracker) mark(ext int64)   { i := uint64(ext) % window; t.seen[i/64] |= 1 << (i % 64) }
func (t *Tracker) unmark(ext int64) { i := uint64(ext) % window; t.seen[i/64] &^= 1 << (i % 64) }
func (t *Tracker) marked(ext int64) bool {
	i := uint64(ext) % window
	return t.seen[i/64]&(1<<(i%64)) != 0
}

// timing updates jitter and the best transit time with one packet and
// reports whether it missed its playout deadline.
func (t *Tracker) timing(ts uint32, arrival, sent time.Time) (late bool) {
	// Extended RTP timestamp, unwrapped like sequence numbers.
	var extTS int64
	if !t.tsInit {
		t.tsInit = true
		extTS = int64(ts)
		t.maxTS = extTS
	} else {
		extTS = t.maxTS + int64(int32(ts-uint32(t.maxTS)))
		t.maxTS = max(t.maxTS, extTS)
	}
	// RFC 3550 A.8: J += (|D| - J) / 16 with D the difference of transit
	// times, in RTP units.
	arrUnits := float64(arrival.UnixNano()) * t.clock / 1e9
	trans := arrUnits - float64(extTS)
	if t.haveTrans {
		d := math.Abs(trans - t.lastTrans)
		t.jitter += (d - t.jitter) / 16
	}
	t.lastTrans, t.haveTrans = trans, true

	minp, have := &t.minRTP, &t.haveRTP
	var transit int64 // ns, relative to an origin of its kind
	if !sent.IsZero() {
		transit = arrival.Sub(sent).Nanoseconds()
		minp, have = &t.minSent, &t.haveSent
	} else {
		transit = arrival.UnixNano() - int64(float64(extTS)*1e9/t.clock)
	}
	if !*have || transit < *minp {
		*minp, *have = transit, true
	}
	return time.Duration(transit-*minp) > t.deadline
}

// Stats returns the stream's counts so far.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		return Stats{}
	}
	s := Stats{
		Expected:   uint64(t.maxExt - t.baseExt + 1),
		OnTime:     t.onTime,
		Late:       t.late + t.tooOld,
		Duplicates: t.dups,
		JitterMS:   t.jitter / t.clock * 1000,
	}
	s.Lost = s.Expected - min(s.Expected, s.OnTime+s.Late)
	return s
}
