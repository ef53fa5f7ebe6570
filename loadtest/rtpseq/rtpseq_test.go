package rtpseq

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pkt is one synthetic packet: sequence number, RTP timestamp and extra
// network delay beyond the base delay.
type pkt struct {
	seq   uint16
	ts    uint32
	delay time.Duration
}

// stream returns n packets from seq0 at 50 packets per second of 90 kHz
// video (one packet per frame).
func stream(seq0 uint16, n int) []pkt {
	out := make([]pkt, n)
	for i := range out {
		out[i] = pkt{seq: seq0 + uint16(i), ts: uint32(i) * 1800}
	}
	return out
}

// play pushes packets into a tracker with a 200 ms deadline; arrival is
// the packet's send time (20 ms apart) plus 10 ms base delay plus its extra
// delay. withSent also passes the send time, as a payload timestamp would.
func play(pkts []pkt, withSent bool) Stats {
	tr := New(90000, 200*time.Millisecond)
	t0 := time.Unix(1_700_000_000, 0)
	for _, p := range pkts {
		sent := t0.Add(time.Duration(p.ts) * time.Second / 90000)
		arr := sent.Add(10*time.Millisecond + p.delay)
		if !withSent {
			sent = time.Time{}
		}
		tr.Push(p.seq, p.ts, arr, sent)
	}
	return tr.Stats()
}

func TestTrackerSynthetic(t *testing.T) {
	everyOther := func(in []pkt) []pkt {
		var out []pkt
		for i, p := range in {
			if i%2 == 0 {
				out = append(out, p)
			}
		}
		return out
	}
	swapPairs := func(in []pkt) []pkt {
		out := append([]pkt(nil), in...)
		for i := 0; i+1 < len(out); i += 2 {
			out[i], out[i+1] = out[i+1], out[i]
		}
		return out
	}
	twice := func(in []pkt) []pkt {
		var out []pkt
		for _, p := range in {
			out = append(out, p, p)
		}
		return out
	}
	delayTenth := func(in []pkt) []pkt {
		out := append([]pkt(nil), in...)
		for i := range out {
			if i%10 == 5 {
				out[i].delay = 500 * time.Millisecond // past the 200 ms buffer
			}
		}
		return out
	}
	tests := []struct {
		name     string
		pkts     []pkt
		expected uint64
		onTime   uint64
		late     uint64
		lost     uint64
		dups     uint64
		lossPct  float64
	}{
		{"clean", stream(100, 1000), 1000, 1000, 0, 0, 0, 0},
		{"every other packet", everyOther(stream(100, 1001)), 1001, 501, 0, 500, 0, 49.95},
		{"wrap-around", stream(65000, 2000), 2000, 2000, 0, 0, 0, 0},
		{"every other across wrap", everyOther(stream(65500, 1001)), 1001, 501, 0, 500, 0, 49.95},
		{"reordered pairs", swapPairs(stream(65530, 1000)), 1000, 1000, 0, 0, 0, 0},
		{"duplicated", twice(stream(7, 500)), 500, 500, 0, 0, 500, 0},
		{"a tenth too late to play", delayTenth(stream(1, 1000)), 1000, 900, 100, 0, 0, 10},
		{"burst gap", append(stream(0, 100), stream(400, 100)...), 500, 200, 0, 300, 0, 60},
	}
	for _, tc := range tests {
		for _, withSent := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				s := play(tc.pkts, withSent)
				require.Equal(t, tc.expected, s.Expected, "expected")
				require.Equal(t, tc.onTime, s.OnTime, "on time")
				require.Equal(t, tc.late, s.Late, "late")
				require.Equal(t, tc.lost, s.Lost, "lost")
				require.Equal(t, tc.dups, s.Duplicates, "duplicates")
				require.InDelta(t, tc.lossPct, s.LossPct(), 0.01)
				require.Equal(t, s.Expected, s.OnTime+s.Late+s.Lost, "every expected packet is accounted for")
			})
		}
	}
}

func TestTrackerTooOldAndFirstReordered(t *testing.T) {
	tr := New(48000, time.Second)
	now := time.Now()
	require.Equal(t, OnTime, tr.Push(10, 0, now, time.Time{}))
	require.Equal(t, OnTime, tr.Push(9, 0, now, time.Time{}), "packet before the first one")
	require.Equal(t, Duplicate, tr.Push(9, 0, now, time.Time{}))
	require.Equal(t, OnTime, tr.Push(10+window, 0, now, time.Time{}))
	require.Equal(t, TooOld, tr.Push(10, 0, now, time.Time{}), "a whole window behind")
	s := tr.Stats()
	require.Equal(t, uint64(window+2), s.Expected)
	require.Equal(t, uint64(3), s.OnTime)
	require.Equal(t, uint64(1), s.Late)
	require.Equal(t, "too-old", TooOld.String())
}

func TestTrackerJitter(t *testing.T) {
	// Constant delay: no jitter. Alternating ±5 ms: jitter converges to
	// about 10 ms (|D| is 10 ms every packet).
	steady := play(stream(0, 500), false)
	require.InDelta(t, 0, steady.JitterMS, 0.01)
	alt := stream(0, 500)
	for i := range alt {
		if i%2 == 1 {
			alt[i].delay = 10 * time.Millisecond
		}
	}
	require.InDelta(t, 10, play(alt, false).JitterMS, 0.5)
}

func TestEmptyStats(t *testing.T) {
	s := New(0, 0).Stats()
	require.Zero(t, s.Expected)
	require.Zero(t, s.LossPct())
}

func BenchmarkPush(b *testing.B) {
	tr := New(90000, 200*time.Millisecond)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tr.Push(uint16(i), uint32(i)*3000, now, now)
	}
}

func TestTrackerFill(t *testing.T) {
	tr := New(90000, 100*time.Millisecond)
	now := time.Now()
	require.Equal(t, OnTime, tr.Fill(5), "padding first")
	require.Equal(t, OnTime, tr.Push(6, 1000, now, now))
	require.Equal(t, OnTime, tr.Fill(8))
	require.Equal(t, Duplicate, tr.Fill(8))
	s := tr.Stats()
	require.Equal(t, uint64(4), s.Expected)
	require.Equal(t, uint64(3), s.OnTime)
	require.Equal(t, uint64(1), s.Lost)
}
