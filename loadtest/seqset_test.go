package loadtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeqSet(t *testing.T) {
	rng := func(lo, hi uint64) []uint64 {
		var out []uint64
		for n := lo; n <= hi; n++ {
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		name      string
		start     uint64
		early     []uint64 // received before begin
		recv      []uint64
		head      uint64
		expected  uint64
		delivered uint64
		dups      uint64
		maxWords  int
	}{
		{"all delivered", 100, nil, rng(101, 5000), 5000, 4900, 4900, 0, 2},
		{"replayed backlog ignored", 100, nil, append(rng(51, 100), rng(101, 200)...), 200, 100, 100, 0, 2},
		{"tail missing", 0, nil, rng(1, 90), 100, 100, 90, 0, 2},
		{"holes", 10, nil, []uint64{11, 13, 15, 17, 19}, 20, 10, 5, 0, 2},
		{"duplicates", 0, nil, append(rng(1, 300), rng(250, 300)...), 300, 300, 300, 51, 2},
		{"out of order", 0, nil, []uint64{3, 1, 2, 5, 4}, 5, 5, 5, 0, 2},
		{"events before sync", 40, []uint64{39, 41, 42}, rng(43, 60), 60, 20, 20, 0, 2},
		{"head below received", 0, nil, rng(1, 500), 100, 100, 100, 0, 2},
		{"one early hole keeps the window bounded", 0, nil, rng(2, 40_000), 40_000, 40_000, 39_999, 0, maxSeqWords},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s seqSet
			for _, n := range tc.early {
				s.add(n)
			}
			s.begin(tc.start)
			for _, n := range tc.recv {
				s.add(n)
			}
			exp, del := s.count(tc.head)
			require.Equal(t, tc.expected, exp, "expected")
			require.Equal(t, tc.delivered, del, "delivered")
			require.Equal(t, tc.dups, s.dups, "duplicates")
			require.LessOrEqual(t, len(s.words), tc.maxWords, "bitmap stays small")
		})
	}
}

func TestSeqSetNotStarted(t *testing.T) {
	var s seqSet
	s.add(5)
	exp, del := s.count(10)
	require.Zero(t, exp)
	require.Zero(t, del)
}
