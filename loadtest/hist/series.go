package hist

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Series is one histogram per wall-clock second, for latency-over-time
// charts. Record goes to the current second's histogram without locks; the
// owner calls Rotate at each second boundary. Seconds are Unix seconds, so
// the series of shards running at the same time line up when merged.
type Series struct {
	sub int
	cur atomic.Pointer[slot]

	mu       sync.Mutex
	retiring *slot // the previous second, still possibly written by late recorders
	done     []Second
}

// slot is the histogram of one second.
type slot struct {
	sec int64
	h   *Histogram
}

// Second is the snapshot of one second of a series.
type Second struct {
	// T is the Unix second the values were recorded in.
	T int64 `json:"t"`
	// H holds the values of that second.
	H Snapshot `json:"h"`
}

// NewSeries returns a series of histograms of subBits precision whose
// first second is sec.
func NewSeries(subBits int, sec int64) *Series {
	s := &Series{sub: subBits}
	s.cur.Store(&slot{sec: sec, h: New(subBits)})
	return s
}

// Record counts v in the current second.
func (s *Series) Record(v int64) { s.cur.Load().h.Record(v) }

// Rotate starts second sec. The second before the previous one is
// snapshotted now: a recorder that loaded the previous slot just before the
// swap has had a whole second to finish.
func (s *Series) Rotate(sec int64) {
	prev := s.cur.Swap(&slot{sec: sec, h: New(s.sub)})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retiring != nil {
		s.done = appendSecond(s.done, s.retiring)
	}
	s.retiring = prev
}

// appendSecond appends the snapshot of sl unless it is empty.
func appendSecond(out []Second, sl *slot) []Second {
	if snap := sl.h.Snapshot(); !snap.Empty() {
		out = append(out, Second{T: sl.sec, H: snap})
	}
	return out
}

// Snapshot returns the non-empty seconds so far, oldest first, including
// the current one.
func (s *Series) Snapshot() []Second {
	s.mu.Lock()
	out := append([]Second(nil), s.done...)
	if s.retiring != nil {
		out = appendSecond(out, s.retiring)
	}
	s.mu.Unlock()
	out = appendSecond(out, s.cur.Load())
	return out
}

// MergeSeconds merges two series second by second (exactly, see
// Snapshot.Merge); the result is ordered by T.
func MergeSeconds(a, b []Second) ([]Second, error) {
	by := make(map[int64]Snapshot, len(a)+len(b))
	for _, list := range [][]Second{a, b} {
		for _, sec := range list {
			m, err := by[sec.T].Merge(sec.H)
			if err != nil {
				return nil, err
			}
			by[sec.T] = m
		}
	}
	out := make([]Second, 0, len(by))
	for t, h := range by {
		out = append(out, Second{T: t, H: h})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out, nil
}

// Last returns the snapshot of the last complete second (empty before the
// first Rotate), for live progress displays.
func (s *Series) Last() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retiring == nil {
		return Snapshot{}
	}
	return s.retiring.h.Snapshot()
}
