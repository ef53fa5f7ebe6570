// Package hdrhist is a small lock-free latency histogram in the spirit of
// HdrHistogram: log-linear buckets with 32 sub-buckets per power of two, so
// every recorded duration is kept within about 3% of its value, from 1 ns to
// about 68 s, in a fixed 8 KiB of counters. Recording is two atomic adds and
// never allocates, so it can sit on the forwarding path of a benchmark.
package hdrhist

import (
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	subBits    = 5            // 32 sub-buckets per octave
	linear     = 2 << subBits // values below 64 ns get one bucket each
	maxExp     = 36           // 2^36 ns ≈ 68.7 s
	numBuckets = linear + (maxExp-subBits-1)*(1<<subBits)
)

// Histogram records durations. The zero value is ready to use; it must not
// be copied after first use.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

// index maps a non-negative value in ns to its bucket.
func index(v int64) int {
	if v < linear {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1 // v>>e is in [32, 64)
	i := linear + (e-1)<<subBits + int(v>>e) - 1<<subBits
	return min(i, numBuckets-1)
}

// upper returns the largest value that lands in bucket i.
func upper(i int) int64 {
	if i < linear {
		return int64(i)
	}
	i -= linear
	e := i>>subBits + 1
	m := int64(i&(1<<subBits-1)) + 1<<subBits
	return (m+1)<<e - 1
}

// Record adds one sample; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[index(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if n := o.counts[i].Load(); n > 0 {
			h.counts[i].Add(n)
		}
	}
	h.total.Add(o.total.Load())
	for {
		m, om := h.max.Load(), o.max.Load()
		if om <= m || h.max.CompareAndSwap(m, om) {
			return
		}
	}
}

// Reset forgets every sample. Samples recorded concurrently may survive.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.max.Store(0)
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest sample.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the value below which a fraction q (0..1) of the samples
// lie, as the upper bound of the bucket holding that rank (capped by Max).
// It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	total := h.total.Load()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	rank = max(min(rank, total), 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(upper(i)), h.Max())
		}
	}
	return h.Max()
}
