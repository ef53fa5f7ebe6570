package library

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSegments(t *testing.T) {
	tests := []struct {
		in   string
		want []Segment
		err  bool
	}{
		{"", nil, false},
		{"0[.]12.5[,]30[.]45", []Segment{{0, 12.5}, {30, 45}}, false},
		{" 10[.]5 ", []Segment{{5, 10}}, false},
		{"0[.]1[,]", nil, true},
		{"0-12", nil, true},
		{"a[.]b", nil, true},
		{"-1[.]5", nil, true},
		{"NaN[.]5", nil, true},
		{"0[.]Inf", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseSegments(tc.in)
		if tc.err {
			require.ErrorIs(t, err, ErrSegments, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	require.Equal(t, "0[.]12.5[,]30[.]45", FormatSegments([]Segment{{0, 12.5}, {30, 45}}))
}

func TestUnionAndCoverage(t *testing.T) {
	segs := Union(100, []Segment{{30, 45}, {0, 12.5}}, []Segment{{10, 20}, {45, 50}, {90, 120}, {-5, 1}})
	require.Equal(t, []Segment{{0, 20}, {30, 50}, {90, 100}}, segs)
	require.InDelta(t, 0.5, Coverage(segs, 100), 1e-9)
	// Replaying the same stretch does not count twice.
	require.InDelta(t, 0.1, Coverage([]Segment{{0, 10}, {0, 10}, {5, 10}}, 100), 1e-9)
	require.InDelta(t, 1.0, Coverage([]Segment{{0, 500}}, 100), 1e-9)
	require.Zero(t, Coverage(segs, 0))
}

func FuzzParseSegments(f *testing.F) {
	f.Add("0[.]12.5[,]30[.]45")
	f.Add("1e300[.]2")
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := ParseSegments(s)
		if err != nil {
			return
		}
		for _, sg := range segs {
			if sg.End < sg.Start || sg.Start < 0 {
				t.Fatalf("bad segment %+v from %q", sg, s)
			}
		}
		if c := Coverage(segs, 60); c < 0 || c > 1 {
			t.Fatalf("coverage %v", c)
		}
	})
}
