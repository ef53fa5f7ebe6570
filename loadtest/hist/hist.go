// Package hist is the load tester's latency histogram: a log-linear
// (HDR-style) histogram that many goroutines record into without locks,
// whose snapshots serialise sparsely to JSON and merge exactly.
//
// Exact merging is the point. A load test spread over several shards must
// produce the same figures as one process that saw all samples, so a
// snapshot keeps every bucket count, not precomputed percentiles: merging
// adds counts bucket by bucket and every quantile of the merged snapshot is
// what a single histogram fed all samples would report.
//
// Values are non-negative integers in a unit the caller chooses (the load
// tester records microseconds). Values below 2^SubBits are kept exactly;
// larger values fall into buckets whose width is 2^-(SubBits-1) of their
// magnitude, so SubBits 8 bounds the relative error of a quantile to 0.8%.
package hist

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"sync/atomic"
)

// Precisions of histograms used by the load tester.
const (
	// Fine is the sub-bucket precision of whole-run histograms: 0.8%
	// relative error.
	Fine = 8
	// Coarse is the precision of per-second histograms: 6.25% relative
	// error, a tenth of the memory and JSON of Fine.
	Coarse = 5
)

// MaxValue is the largest value kept in its own bucket; larger values are
// clamped to it (2^40 µs is almost 13 days).
const MaxValue = int64(1)<<40 - 1

// ErrPrecision is returned when merging snapshots of different precisions.
var ErrPrecision = errors.New("hist: snapshots of different precision cannot be merged")

// Histogram counts values in log-linear buckets. Record is safe for
// concurrent use and lock-free; the zero value is not usable, use New.
type Histogram struct {
	sub    uint8
	counts []atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Uint64
	min    atomic.Int64
	max    atomic.Int64
}

// New returns an empty histogram with subBits of precision (see the
// package comment; 2–12, Fine or Coarse in practice).
func New(subBits int) *Histogram {
	subBits = max(2, min(subBits, 12))
	h := &Histogram{sub: uint8(subBits), counts: make([]atomic.Uint64, bucketCount(subBits))}
	h.min.Store(math.MaxInt64)
	h.max.Store(-1)
	return h
}

// bucketCount is the number of buckets needed to hold values up to MaxValue.
func bucketCount(sub int) int {
	return index(sub, MaxValue) + 1
}

// index is the bucket of v (0 <= v <= MaxValue).
func index(sub int, v int64) int {
	if v < 1<<sub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - sub
	top := int(v >> shift) // in [2^(sub-1), 2^sub)
	half := 1 << (sub - 1)
	return 1<<sub + (shift-1)*half + (top - half)
}

// bounds returns the lowest and highest value that fall into bucket i.
func bounds(sub, i int) (lo, hi int64) {
	if i < 1<<sub {
		return int64(i), int64(i)
	}
	half := 1 << (sub - 1)
	j := i - 1<<sub
	shift := j/half + 1
	top := int64(j%half + half)
	return top << shift, (top+1)<<shift - 1
}

// Record counts one value; negative values count as 0 and values above
// MaxValue as MaxValue.
func (h *Histogram) Record(v int64) {
	v = max(0, min(v, MaxValue))
	h.counts[index(int(h.sub), v)].Add(1)
	h.count.Add(1)
	h.sum.Add(uint64(v))
	for {
		m := h.min.Load()
		if v >= m || h.min.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count is the number of values recorded so far.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Snapshot copies the histogram's current state. Values recorded while it
// runs may or may not be included.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{SubBits: int(h.sub)}
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			s.Buckets = append(s.Buckets, Bucket{Index: i, Count: c})
			s.Count += c
		}
	}
	if s.Count == 0 {
		s.Buckets = nil
		return s
	}
	s.Sum = h.sum.Load()
	s.Min = h.min.Load()
	s.Max = h.max.Load()
	return s
}

// Snapshot is the serialisable state of a histogram: its non-empty buckets
// in index order, and the exact count, sum, minimum and maximum.
type Snapshot struct {
	// SubBits is the precision the buckets were counted with.
	SubBits int `json:"sub_bits"`
	// Count is the number of values.
	Count uint64 `json:"count"`
	// Sum is the sum of the values, for the mean.
	Sum uint64 `json:"sum"`
	// Min and Max are the exact extremes (0 when Count is 0).
	Min int64 `json:"min"`
	// Max: see Min.
	Max int64 `json:"max"`
	// Buckets are the non-empty buckets, by increasing Index.
	Buckets []Bucket `json:"buckets,omitempty"`
}

// Bucket is one non-empty bucket of a snapshot. It encodes as the JSON
// pair [index, count] to keep reports small.
type Bucket struct {
	Index int
	Count uint64
}

// MarshalJSON encodes b as [index, count].
func (b Bucket) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "[%d,%d]", b.Index, b.Count), nil
}

// UnmarshalJSON decodes [index, count].
func (b *Bucket) UnmarshalJSON(data []byte) error {
	var pair [2]int64
	if err := json.Unmarshal(data, &pair); err != nil {
		return fmt.Errorf("hist: bucket %s: want [index,count]: %w", data, err)
	}
	if pair[0] < 0 || pair[1] < 0 {
		return fmt.Errorf("hist: bucket %s: negative index or count", data)
	}
	b.Index, b.Count = int(pair[0]), uint64(pair[1])
	return nil
}

// Empty reports whether the snapshot holds no values.
func (s Snapshot) Empty() bool { return s.Count == 0 }

// Merge returns the snapshot of all values of s and o. It is exact: the
// result equals the snapshot of one histogram that recorded both sets. An
// empty snapshot merges with any precision.
func (s Snapshot) Merge(o Snapshot) (Snapshot, error) {
	switch {
	case o.Count == 0:
		return s.clone(), nil
	case s.Count == 0:
		return o.clone(), nil
	case s.SubBits != o.SubBits:
		return Snapshot{}, fmt.Errorf("%w: %d and %d bits", ErrPrecision, s.SubBits, o.SubBits)
	}
	out := Snapshot{SubBits: s.SubBits, Count: s.Count + o.Count, Sum: s.Sum + o.Sum,
		Min: min(s.Min, o.Min), Max: max(s.Max, o.Max)}
	out.Buckets = make([]Bucket, 0, max(len(s.Buckets), len(o.Buckets)))
	i, j := 0, 0
	for i < len(s.Buckets) || j < len(o.Buckets) {
		switch {
		case j == len(o.Buckets) || (i < len(s.Buckets) && s.Buckets[i].Index < o.Buckets[j].Index):
			out.Buckets = append(out.Buckets, s.Buckets[i])
			i++
		case i == len(s.Buckets) || o.Buckets[j].Index < s.Buckets[i].Index:
			out.Buckets = append(out.Buckets, o.Buckets[j])
			j++
		default:
			out.Buckets = append(out.Buckets, Bucket{Index: s.Buckets[i].Index, Count: s.Buckets[i].Count + o.Buckets[j].Count})
			i++
			j++
		}
	}
	return out, nil
}

// clone returns a copy that shares no memory with s.
func (s Snapshot) clone() Snapshot {
	s.Buckets = append([]Bucket(nil), s.Buckets...)
	if len(s.Buckets) == 0 {
		s.Buckets = nil
	}
	return s
}

// Validate checks a decoded snapshot: buckets in increasing index order
// within the precision's range and counts that add up to Count.
func (s Snapshot) Validate() error {
	if s.Count == 0 && len(s.Buckets) == 0 {
		return nil
	}
	if s.SubBits < 2 || s.SubBits > 12 {
		return fmt.Errorf("hist: sub_bits %d: want 2-12", s.SubBits)
	}
	n, prev := bucketCount(s.SubBits), -1
	var total uint64
	for _, b := range s.Buckets {
		if b.Index <= prev || b.Index >= n {
			return fmt.Errorf("hist: bucket index %d out of order or range", b.Index)
		}
		prev = b.Index
		total += b.Count
	}
	if total != s.Count {
		return fmt.Errorf("hist: buckets hold %d values, count says %d", total, s.Count)
	}
	return nil
}

// Quantile returns the value below or at which a fraction q (0–1) of the
// values lie: the highest value of the bucket holding that rank (what HDR
// histograms call the highest equivalent value), never above Max. It
// returns 0 for an empty snapshot.
func (s Snapshot) Quantile(q float64) int64 {
	if s.Count == 0 {
		return 0
	}
	if q <= 0 {
		return s.Min
	}
	rank := uint64(math.Ceil(min(q, 1) * float64(s.Count)))
	rank = max(rank, 1)
	var seen uint64
	for _, b := range s.Buckets {
		seen += b.Count
		if seen >= rank {
			_, hi := bounds(s.SubBits, b.Index)
			return max(min(hi, s.Max), s.Min)
		}
	}
	return s.Max
}

// Mean is the exact mean of the values (0 when empty).
func (s Snapshot) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.Count)
}

// Points returns the buckets as (lowest value, count) pairs, for charts.
func (s Snapshot) Points() []Point {
	out := make([]Point, len(s.Buckets))
	for i, b := range s.Buckets {
		lo, hi := bounds(s.SubBits, b.Index)
		out[i] = Point{Low: lo, High: hi, Count: b.Count}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Low < out[j].Low })
	return out
}

// Point is one bucket of a snapshot with its value range.
type Point struct {
	// Low and High bound the values counted, inclusive.
	Low, High int64
	// Count is how many values fell in [Low, High].
	Count uint64
}
