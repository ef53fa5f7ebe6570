package sfu

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// discardWriter stands in for Pion's SRTP write stream, so the benchmark
// measures the SFU's own forwarding work: inspection, fan-out, munging and
// header rewriting.
type discardWriter struct{ n int }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n++
	return len(payload), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// newForwardFixture builds a video track with n bound down-tracks, without
// any network.
func newForwardFixture(tb testing.TB, n int) (*publishedTrack, *layerReceiver, *fanoutPool) {
	tb.Helper()
	cfg := Config{}.withDefaults()
	pool := newFanoutPool(2)
	tb.Cleanup(pool.close)
	s := &SFU{cfg: cfg, log: slog.New(slog.DiscardHandler), pool: pool}
	r := &Room{sfu: s, log: s.log}
	pub := &Participant{id: "pub", room: r, events: newEventQueue(), log: s.log}
	t := &publishedTrack{
		info:  TrackInfo{ID: "pub/v", Publisher: "pub", Kind: webrtc.RTPCodecTypeVideo, MimeType: webrtc.MimeTypeVP8, Simulcast: true},
		room:  r,
		pub:   pub,
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
		ckind: codecVP8,
		video: true,
	}
	empty := []*DownTrack{}
	t.downTracks.Store(&empty)
	lr := &layerReceiver{layer: LayerHigh, throttle: newKeyframeThrottle(cfg.KeyframeInterval, func() {})}
	t.layers[LayerHigh.idx()] = lr
	for i := range n {
		sub := &Participant{id: ParticipantID(fmt.Sprint("s", i)), room: r, events: newEventQueue(), log: s.log}
		sub.subReady.Store(true)
		dt := newDownTrack(t, sub)
		dt.bound, dt.ssrc, dt.pt, dt.writer = true, uint32(1000+i), 96, &discardWriter{}
		dt.target.Store(uint32(LayerHigh))
		t.addDownTrack(dt)
	}
	return t, lr, pool
}

// BenchmarkForward measures one received packet forwarded to N subscribers
// (the per-packet hot path after Pion's read). It must report 0 allocs/op.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprint("subs=", n), func(b *testing.B) {
			tr, lr, pool := newForwardFixture(b, n)
			payload := make([]byte, 1000)
			payload[0] = 0x10 // VP8 start of partition 0
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, PayloadType: 96}, Payload: payload}
			// The first packet is a keyframe so every down-track starts.
			tr.forward(lr, &pkt, 1012, nanotime(), pool, tr.room.sfu.cfg.FanoutChunk)
			payload[1] = 0x01 // delta frames from now on
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				tr.forward(lr, &pkt, 1012, nanotime(), pool, tr.room.sfu.cfg.FanoutChunk)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

func TestForwardZeroAlloc(t *testing.T) {
	tr, lr, pool := newForwardFixture(t, 200)
	payload := make([]byte, 1000)
	payload[0] = 0x10
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, PayloadType: 96}, Payload: payload}
	tr.forward(lr, &pkt, 1012, nanotime(), pool, 64)
	payload[1] = 0x01
	allocs := testing.AllocsPerRun(200, func() {
		pkt.SequenceNumber++
		tr.forward(lr, &pkt, 1012, nanotime(), pool, 64)
	})
	if allocs != 0 {
		t.Fatalf("forward path allocates %.1f times per packet, want 0", allocs)
	}
	for _, dt := range *tr.downTracks.Load() {
		if got := dt.writer.(*discardWriter).n; got != 202 {
			t.Fatalf("down-track got %d packets, want 202 (1 + warm-up + 200)", got)
		}
	}
}
