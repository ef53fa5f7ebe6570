package hdrhist

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBucketsCoverValues(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v++ {
		i := index(v)
		if i < prev || v > upper(i) || (i > 0 && v <= upper(i-1)) {
			t.Fatalf("value %d in bucket %d [%d, %d], previous value's bucket %d", v, i, upper(i-1)+1, upper(i), prev)
		}
		prev = i
	}
	require.Equal(t, numBuckets-1, index(1<<62), "huge values land in the last bucket")
}

func TestQuantilesWithinPrecision(t *testing.T) {
	cases := []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform µs", func() time.Duration { return time.Duration(rand.IntN(1000)) * time.Microsecond }},
		{"exponential", func() time.Duration { return time.Duration(rand.ExpFloat64() * float64(50*time.Microsecond)) }},
		{"tiny", func() time.Duration { return time.Duration(rand.IntN(60)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, 20000)
			for i := range samples {
				samples[i] = c.gen()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			require.Equal(t, uint64(len(samples)), h.Count())
			require.Equal(t, samples[len(samples)-1], h.Max())
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				exact := samples[int(q*float64(len(samples)))-1]
				got := h.Quantile(q)
				require.InDelta(t, float64(exact), float64(got), float64(exact)*0.04+2, "q%.3f", q)
			}
		})
	}
}

func TestMergeAndReset(t *testing.T) {
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(2 * time.Millisecond)
	b.Record(-time.Second)
	a.Merge(&b)
	require.Equal(t, uint64(3), a.Count())
	require.Equal(t, 2*time.Millisecond, a.Max())
	require.Equal(t, time.Duration(0), a.Quantile(0))
	a.Reset()
	require.Zero(t, a.Count())
	require.Zero(t, a.Quantile(0.5))
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	allocs := testing.AllocsPerRun(1000, func() { h.Record(123 * time.Microsecond) })
	require.Zero(t, allocs)
}
