package sfu

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// discardWriter stands in for Pion's SRTP write stream, so the benchmark
// measures the SFU's own forwarding work: inspection, fan-out, munging and
// header rewriting.
type discardWriter struct {
	n          int
	last       uint16
	outOfOrder int
}

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.n > 0 && h.SequenceNumber != w.last+1 {
		w.outOfOrder++
	}
	w.last = h.SequenceNumber
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
	pool.maxDelay = int64(time.Hour) // count every write, however loaded the machine
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

// forwardPacket hands pkt to the track as readLoop does: marshalled into a
// free slot of the layer's ring, parsed there, forwarded.
func forwardPacket(tb testing.TB, tr *publishedTrack, lr *layerReceiver, pkt *rtp.Packet, pool *fanoutPool, chunk int) {
	s := lr.fan.acquire()
	n, err := pkt.MarshalTo(s.buf[:])
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.pkt.Unmarshal(s.buf[:n]); err != nil {
		tb.Fatal(err)
	}
	tr.forward(lr, s, n, nanotime(), pool, chunk)
}

// growRing gives lr its full ring of slots, as a long-running stage has.
func growRing(lr *layerReceiver) {
	lr.fan.acquire()
	for len(lr.fan.ring) < fanoutMaxSlots {
		lr.fan.ring = append(lr.fan.ring, &fanoutSlot{})
	}
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
			chunk := tr.room.sfu.cfg.FanoutChunk
			growRing(lr)
			// The first packet is a keyframe so every down-track starts.
			forwardPacket(b, tr, lr, &pkt, pool, chunk)
			payload[1] = 0x01 // delta frames from now on
			for range 2 * fanoutMaxSlots {
				pkt.SequenceNumber++
				forwardPacket(b, tr, lr, &pkt, pool, chunk)
			}
			lr.fan.wait()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				forwardPacket(b, tr, lr, &pkt, pool, chunk)
			}
			lr.fan.wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

func TestForwardZeroAlloc(t *testing.T) {
	tr, lr, pool := newForwardFixture(t, 200)
	payload := make([]byte, 1000)
	payload[0] = 0x10
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, PayloadType: 96}, Payload: payload}
	growRing(lr)
	forwardPacket(t, tr, lr, &pkt, pool, 64)
	payload[1] = 0x01
	// Warm-up: every slot of the ring used once (its job structs made).
	const warmup = 2 * fanoutMaxSlots
	for range warmup {
		pkt.SequenceNumber++
		forwardPacket(t, tr, lr, &pkt, pool, 64)
	}
	allocs := testing.AllocsPerRun(200, func() {
		pkt.SequenceNumber++
		forwardPacket(t, tr, lr, &pkt, pool, 64)
	})
	if allocs != 0 {
		t.Fatalf("forward path allocates %.1f times per packet, want 0", allocs)
	}
	lr.fan.wait()
	want := 1 + warmup + 201 // keyframe, warm-up, AllocsPerRun's 1 + 200 runs
	for _, dt := range *tr.downTracks.Load() {
		w := dt.writer.(*discardWriter)
		if w.n != want {
			t.Fatalf("down-track got %d packets, want %d", w.n, want)
		}
		if w.outOfOrder != 0 {
			t.Fatalf("down-track got %d packets out of order", w.outOfOrder)
		}
	}
}
