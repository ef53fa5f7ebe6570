package sfu

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// levelWriter is a discardWriter that counts packets carrying audio level
// under the subscriber's extension ID.
type levelWriter struct {
	id       uint8
	n, level int
}

func (w *levelWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n++
	if e := h.GetExtension(w.id); len(e) == 1 && e[0] == 0x80|30 {
		w.level++
	}
	return len(payload), nil
}

func (w *levelWriter) Write(b []byte) (int, error) { return len(b), nil }

// newAudioFixture builds an Opus track whose publisher sends the audio
// level as extension 1, with n bound down-tracks that negotiated it as 3.
func newAudioFixture(tb testing.TB, n int) (*publishedTrack, *layerReceiver, *fanoutPool) {
	tb.Helper()
	cfg := Config{}.withDefaults()
	pool := newFanoutPool(2)
	pool.maxDelay = int64(time.Hour)
	tb.Cleanup(pool.close)
	s := &SFU{cfg: cfg, log: slog.New(slog.DiscardHandler), pool: pool}
	r := &Room{sfu: s, log: s.log}
	pub := &Participant{id: "pub", room: r, events: newEventQueue(), log: s.log}
	t := &publishedTrack{
		info:  TrackInfo{ID: "pub/a", Publisher: "pub", Kind: webrtc.RTPCodecTypeAudio, MimeType: webrtc.MimeTypeOpus},
		room:  r,
		pub:   pub,
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}},
		ckind: codecKindOf(webrtc.MimeTypeOpus),
		audio: &audioLevelMeter{extID: 1},
	}
	empty := []*DownTrack{}
	t.downTracks.Store(&empty)
	lr := &layerReceiver{layer: LayerHigh, throttle: newKeyframeThrottle(cfg.KeyframeInterval, func() {})}
	t.layers[LayerHigh.idx()] = lr
	for i := range n {
		sub := &Participant{id: ParticipantID(fmt.Sprint("s", i)), room: r, events: newEventQueue(), log: s.log}
		sub.subReady.Store(true)
		dt := newDownTrack(t, sub)
		dt.bound, dt.ssrc, dt.pt, dt.levelID, dt.writer = true, uint32(1000+i), 111, 3, &levelWriter{id: 3}
		t.addDownTrack(dt)
	}
	return t, lr, pool
}

func audioPacket(tb testing.TB) *rtp.Packet {
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, PayloadType: 111}, Payload: make([]byte, 80)}
	if err := pkt.SetExtension(1, []byte{0x80 | 30}); err != nil {
		tb.Fatal(err)
	}
	return pkt
}

// BenchmarkForwardAudioLevel measures one audio packet forwarded to N
// subscribers with its audio level renumbered for each. It must report 0
// allocs/op.
func BenchmarkForwardAudioLevel(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprint("subs=", n), func(b *testing.B) {
			tr, lr, pool := newAudioFixture(b, n)
			pkt := audioPacket(b)
			chunk := tr.room.sfu.cfg.FanoutChunk
			growRing(lr)
			for range 2 * fanoutMaxSlots {
				pkt.SequenceNumber++
				forwardPacket(b, tr, lr, pkt, pool, chunk)
			}
			lr.fan.wait()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt.SequenceNumber++
				pkt.Timestamp += 960
				forwardPacket(b, tr, lr, pkt, pool, chunk)
			}
			lr.fan.wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// TestForwardAudioLevelZeroAlloc: carrying the audio level over keeps the
// forward path allocation-free, and every forwarded packet has it under the
// subscriber's ID.
func TestForwardAudioLevelZeroAlloc(t *testing.T) {
	tr, lr, pool := newAudioFixture(t, 50)
	pkt := audioPacket(t)
	growRing(lr)
	const warmup = 2 * fanoutMaxSlots
	for range warmup {
		pkt.SequenceNumber++
		forwardPacket(t, tr, lr, pkt, pool, 16)
	}
	allocs := testing.AllocsPerRun(200, func() {
		pkt.SequenceNumber++
		forwardPacket(t, tr, lr, pkt, pool, 16)
	})
	if allocs != 0 {
		t.Fatalf("audio forward path allocates %.1f times per packet, want 0", allocs)
	}
	lr.fan.wait()
	for _, dt := range *tr.downTracks.Load() {
		w := dt.writer.(*levelWriter)
		if w.n != warmup+201 || w.level != w.n {
			t.Fatalf("down-track got %d packets, %d with the level under ID 3, want %d", w.n, w.level, warmup+201)
		}
	}
}
