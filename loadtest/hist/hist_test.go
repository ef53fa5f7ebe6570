package hist

import (
	"encoding/json"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIndexBoundsRoundTrip(t *testing.T) {
	for _, sub := range []int{Coarse, Fine} {
		n := bucketCount(sub)
		prevHi := int64(-1)
		for i := 0; i < n; i++ {
			lo, hi := bounds(sub, i)
			require.Equal(t, prevHi+1, lo, "sub %d bucket %d is contiguous", sub, i)
			require.Equal(t, i, index(sub, lo))
			require.Equal(t, i, index(sub, hi))
			prevHi = hi
		}
		require.Equal(t, MaxValue, prevHi)
	}
}

func TestQuantileAccuracy(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) int64
	}{
		{"uniform 0-10ms in µs", func(r *rand.Rand) int64 { return r.Int64N(10_000) }},
		{"exponential mean 50ms", func(r *rand.Rand) int64 { return int64(r.ExpFloat64() * 50_000) }},
		{"small exact values", func(r *rand.Rand) int64 { return r.Int64N(100) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			h := New(Fine)
			vals := make([]int64, 100_000)
			for i := range vals {
				vals[i] = tc.gen(r)
				h.Record(vals[i])
			}
			sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
			s := h.Snapshot()
			require.Equal(t, uint64(len(vals)), s.Count)
			require.Equal(t, vals[0], s.Min)
			require.Equal(t, vals[len(vals)-1], s.Max)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				exact := vals[int(q*float64(len(vals))+0.5)-1]
				got := s.Quantile(q)
				require.GreaterOrEqual(t, got, exact, "q%v never under-reports", q)
				require.LessOrEqual(t, float64(got-exact), float64(exact)/128+1, "q%v within 1/128", q)
			}
		})
	}
}

func TestQuantileEdges(t *testing.T) {
	var empty Snapshot
	require.Zero(t, empty.Quantile(0.99))
	h := New(Fine)
	h.Record(-5)
	h.Record(MaxValue + 10)
	s := h.Snapshot()
	require.Equal(t, int64(0), s.Quantile(0))
	require.Equal(t, int64(0), s.Quantile(0.5))
	require.Equal(t, MaxValue, s.Quantile(1))
}

// TestMergeExact splits one sample stream over two histograms: the merged
// snapshot is identical to the snapshot of one histogram that saw all.
func TestMergeExact(t *testing.T) {
	for _, sub := range []int{Coarse, Fine} {
		r := rand.New(rand.NewPCG(3, 4))
		all, a, b := New(sub), New(sub), New(sub)
		for i := 0; i < 50_000; i++ {
			v := int64(r.ExpFloat64() * 20_000)
			all.Record(v)
			if r.IntN(3) == 0 {
				a.Record(v)
			} else {
				b.Record(v)
			}
		}
		m, err := a.Snapshot().Merge(b.Snapshot())
		require.NoError(t, err)
		require.Equal(t, all.Snapshot(), m)
		// And through JSON, as shards exchange them.
		var back Snapshot
		raw, err := json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &back))
		require.NoError(t, back.Validate())
		require.Equal(t, m, back)
	}
}

func TestMergePrecisionMismatch(t *testing.T) {
	a, b := New(Fine), New(Coarse)
	a.Record(1000)
	b.Record(1000)
	_, err := a.Snapshot().Merge(b.Snapshot())
	require.ErrorIs(t, err, ErrPrecision)
	m, err := New(Coarse).Snapshot().Merge(a.Snapshot())
	require.NoError(t, err)
	require.Equal(t, a.Snapshot(), m)
}

func TestConcurrentRecord(t *testing.T) {
	h := New(Fine)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10_000; i++ {
				h.Record(int64(i))
			}
		}()
	}
	wg.Wait()
	s := h.Snapshot()
	require.Equal(t, uint64(80_000), s.Count)
	require.Equal(t, int64(0), s.Min)
	require.Equal(t, int64(9_999), s.Max)
}

func TestSeriesRotateAndMerge(t *testing.T) {
	a, b := NewSeries(Coarse, 100), NewSeries(Coarse, 100)
	a.Record(10)
	b.Record(20)
	a.Rotate(101)
	b.Rotate(101)
	a.Record(30)
	a.Rotate(102)
	b.Rotate(102)
	b.Record(40)
	m, err := MergeSeconds(a.Snapshot(), b.Snapshot())
	require.NoError(t, err)
	require.Len(t, m, 3)
	require.Equal(t, []int64{100, 101, 102}, []int64{m[0].T, m[1].T, m[2].T})
	require.Equal(t, uint64(2), m[0].H.Count)
	require.Equal(t, int64(30), m[1].H.Max)
	require.Equal(t, int64(40), m[2].H.Max)
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"bad precision", `{"sub_bits":40,"count":1,"buckets":[[1,1]]}`},
		{"out of order", `{"sub_bits":8,"count":2,"buckets":[[5,1],[4,1]]}`},
		{"count mismatch", `{"sub_bits":8,"count":3,"buckets":[[5,1]]}`},
		{"index too large", `{"sub_bits":5,"count":1,"buckets":[[100000,1]]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Snapshot
			require.NoError(t, json.Unmarshal([]byte(tc.json), &s))
			require.Error(t, s.Validate())
		})
	}
	var s Snapshot
	require.Error(t, json.Unmarshal([]byte(`{"buckets":[[-1,1]]}`), &s))
}

// FuzzSnapshotJSON decodes untrusted shard reports: no panic, and a valid
// snapshot answers quantiles within its range.
func FuzzSnapshotJSON(f *testing.F) {
	f.Add([]byte(`{"sub_bits":8,"count":2,"sum":30,"min":10,"max":20,"buckets":[[10,1],[20,1]]}`))
	f.Add([]byte(`{"sub_bits":5,"count":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Snapshot
		if json.Unmarshal(data, &s) != nil || s.Validate() != nil {
			return
		}
		_ = s.Quantile(0.99)
		_ = s.Points()
		_, _ = s.Merge(s)
	})
}

func BenchmarkRecord(b *testing.B) {
	h := New(Fine)
	b.RunParallel(func(pb *testing.PB) {
		v := int64(1)
		for pb.Next() {
			h.Record(v)
			v = (v*31 + 7) % 1_000_000
		}
	})
}
