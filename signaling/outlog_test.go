package signaling

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// f is a direct frame numbered n, for readable assertions.
func f(n int) frame { return &frameData{b: []byte(strconv.Itoa(n))} }

// nums are the numbers of frames.
func nums(fs []frame) []int {
	out := make([]int, 0, len(fs))
	for _, x := range fs {
		n, _ := strconv.Atoi(string(x.b))
		out = append(out, n)
	}
	return out
}

func TestOutLog(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		appended int // frames 1..appended
		taken    int // handed to the writer before the rewind
		rewind   uint64
		ok       bool
		want     []int
	}{
		{"resume from start", 16, 5, 5, 0, true, []int{1, 2, 3, 4, 5}},
		{"resume in the middle", 16, 5, 5, 3, true, []int{4, 5}},
		{"nothing missed", 16, 5, 5, 5, true, []int{}},
		{"future count refused", 16, 5, 5, 6, false, nil},
		{"unsent frames are resent in order", 16, 9, 4, 2, true, []int{3, 4, 5, 6, 7, 8, 9}},
		{"ring grew past the initial size", 64, 40, 40, 30, true, []int{31, 32, 33, 34, 35, 36, 37, 38, 39, 40}},
		{"old sent frames dropped at the limit", 8, 12, 12, 4, true, []int{5, 6, 7, 8, 9, 10, 11, 12}},
		{"gap refused", 8, 12, 12, 3, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newOutLog(tc.limit)
			for i := 1; i <= tc.appended; i++ {
				if i > tc.taken && l.queued() >= tc.limit {
					t.Fatalf("test appends more unsent frames than the limit")
				}
				require.True(t, l.append(f(i)))
				if i <= tc.taken {
					l.take(nil, 1)
				}
			}
			require.Equal(t, tc.ok, l.rewind(tc.rewind))
			if !tc.ok {
				return
			}
			require.Equal(t, tc.want, nums(l.take(nil, 1000)))
		})
	}
}

func TestOutLogRefusesToLoseUnsentFrames(t *testing.T) {
	l := newOutLog(4)
	for i := 1; i <= 4; i++ {
		require.True(t, l.append(f(i)))
	}
	require.False(t, l.append(f(5)), "full of unsent frames")
	require.Equal(t, []int{1, 2}, nums(l.take(nil, 2)))
	require.True(t, l.append(f(5)), "the oldest sent frame makes room")
	require.Equal(t, []int{3, 4, 5}, nums(l.take(nil, 10)))
}

func TestOutLogTrim(t *testing.T) {
	l := newOutLog(16)
	for i := 1; i <= 6; i++ {
		require.True(t, l.append(f(i)))
	}
	l.take(nil, 4)
	l.trim(10) // clamps to what was sent
	require.Equal(t, 2, l.retained())
	require.False(t, l.rewind(3), "trimmed frames cannot be replayed")
	require.True(t, l.rewind(4))
	require.Equal(t, []int{5, 6}, nums(l.take(nil, 10)))
}

func TestOutLogIdleSessionIsSmall(t *testing.T) {
	l := newOutLog(DefaultReplayBuffer)
	require.True(t, l.append(f(1)))
	require.LessOrEqual(t, cap(l.buf), initialRing, "the ring starts small")
}

func TestOutLogShrinksAfterAck(t *testing.T) {
	l := newOutLog(DefaultReplayBuffer)
	for i := 1; i <= 1000; i++ {
		require.True(t, l.append(f(i)))
	}
	l.take(nil, 1000)
	require.GreaterOrEqual(t, len(l.buf), 1000)
	l.trim(998)
	require.Less(t, len(l.buf), 16, "the ring shrinks once the client confirmed the burst")
	require.True(t, l.rewind(999))
	require.Equal(t, []int{1000}, nums(l.take(nil, 10)))
	require.True(t, l.append(f(1001)))
	require.Equal(t, []int{1001}, nums(l.take(nil, 10)))
}
