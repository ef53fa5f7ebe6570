package recorder

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

func TestReorderBuffer(t *testing.T) {
	type out struct {
		seq  uint16
		lost int
	}
	tests := []struct {
		name   string
		window int
		in     []uint16
		want   []out
	}{
		{"in order", 8, []uint16{1, 2, 3}, []out{{1, 0}, {2, 0}, {3, 0}}},
		{"swap", 8, []uint16{1, 3, 2, 4}, []out{{1, 0}, {2, 0}, {3, 0}, {4, 0}}},
		{"duplicate and late", 8, []uint16{1, 2, 2, 1, 3}, []out{{1, 0}, {2, 0}, {3, 0}}},
		{"wrap", 8, []uint16{65534, 65535, 1, 0}, []out{{65534, 0}, {65535, 0}, {0, 0}, {1, 0}}},
		{"gap skipped when half the window waits", 8, []uint16{1, 3, 4, 5, 6, 7}, []out{{1, 0}, {3, 1}, {4, 0}, {5, 0}, {6, 0}, {7, 0}}},
		{"far jump", 8, []uint16{1, 3, 100, 101}, []out{{1, 0}, {3, 1}, {100, 96}, {101, 0}}},
		{"flush at end", 8, []uint16{1, 3, 5}, []out{{1, 0}, {3, 1}, {5, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newReorderBuffer(tc.window)
			var got []out
			emit := func(p *rtp.Packet, lost int) error {
				got = append(got, out{p.SequenceNumber, lost})
				return nil
			}
			for _, s := range tc.in {
				p := &rtp.Packet{Header: rtp.Header{SequenceNumber: s}, Payload: []byte{byte(s)}}
				require.NoError(t, b.push(p, emit))
				p.Payload[0] = 0xEE // the caller reuses its buffer
			}
			require.NoError(t, b.flush(emit))
			require.Equal(t, tc.want, got)
			require.Zero(t, b.waiting)
		})
	}
}

func TestReorderBufferCopiesWaitingPackets(t *testing.T) {
	b := newReorderBuffer(8)
	var payloads []byte
	emit := func(p *rtp.Packet, _ int) error { payloads = append(payloads, p.Payload[0]); return nil }
	buf := []byte{0}
	for _, s := range []uint16{10, 12, 11} {
		buf[0] = byte(s)
		require.NoError(t, b.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: s}, Payload: buf}, emit))
	}
	require.Equal(t, []byte{10, 11, 12}, payloads)
}

func TestExtendedClock(t *testing.T) {
	var c extendedClock
	require.EqualValues(t, 0, c.extend(4294964296))
	require.EqualValues(t, 3000, c.extend(0), "wraps around")
	require.EqualValues(t, 6000, c.extend(3000))
	require.EqualValues(t, 6001, c.extend(2000), "never steps back")
}
