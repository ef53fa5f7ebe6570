package sfu

import (
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// vp8Payload builds a VP8 payload with a full descriptor: 15-bit picture
// ID, TL0PICIDX, KEYIDX, then one byte of VP8 header (P bit: keyframe or
// not) and a marker byte.
func vp8Payload(start, key bool, pid uint16, tl0, keyIdx uint8, marker byte) []byte {
	b0 := byte(0x80) // X
	if start {
		b0 |= 0x10 // S, partition 0
	}
	hdr := byte(0x01)
	if key {
		hdr = 0x00
	}
	// Byte 7 (the layer marker) is what the tests read back.
	return []byte{b0, 0xD0, 0x80 | byte(pid>>8&0x7F), byte(pid), tl0, 0x40 | keyIdx&0x1F, hdr, marker}
}

func descFields(t *testing.T, p []byte) (pid uint16, tl0, keyIdx uint8) {
	t.Helper()
	d, ok := parseVP8Desc(p)
	require.True(t, ok)
	require.NotZero(t, d.pidAt)
	return d.pictureID(p), p[d.tl0At], p[d.keyIdxAt] & 0x1F
}

// TestVP8RewriterContinuity: after a switch to a layer with unrelated
// numbering, picture ID, TL0PICIDX and KEYIDX continue from the last values
// sent (wrapping in their own widths), the shared input is never modified,
// and a stream that was never switched is passed through without a copy.
func TestVP8RewriterContinuity(t *testing.T) {
	var w vp8Rewriter
	first := vp8Payload(true, true, 0x7FFE, 255, 31, 'a')
	w.switchTo(codecVP8, first)
	out := w.rewrite(first)
	require.Same(t, &first[0], &out[0], "no offset: no copy")
	out = w.rewrite(vp8Payload(true, false, 0x7FFF, 255, 31, 'a'))
	pid, tl0, key := descFields(t, out)
	require.Equal(t, []any{uint16(0x7FFF), uint8(255), uint8(31)}, []any{pid, tl0, key})

	// Switch to a layer numbered elsewhere: continues at 0 (wrapped).
	sw := vp8Payload(true, true, 1234, 17, 3, 'c')
	orig := append([]byte(nil), sw...)
	w.switchTo(codecVP8, sw)
	out = w.rewrite(sw)
	require.Equal(t, orig, sw, "the shared payload is not patched in place")
	pid, tl0, key = descFields(t, out)
	require.Equal(t, []any{uint16(0), uint8(0), uint8(0)}, []any{pid, tl0, key})
	require.Equal(t, byte('c'), out[len(out)-1], "the rest of the payload is copied")

	// Following frames of that layer, and a late packet of the same frame.
	out = w.rewrite(vp8Payload(true, false, 1235, 18, 3, 'c'))
	pid, tl0, _ = descFields(t, out)
	require.Equal(t, uint16(1), pid)
	require.Equal(t, uint8(1), tl0)
	out = w.rewrite(vp8Payload(false, false, 1234, 17, 3, 'c'))
	pid, _, _ = descFields(t, out)
	require.Equal(t, uint16(0), pid, "an older packet keeps its mapped value")
	out = w.rewrite(vp8Payload(true, false, 1236, 19, 3, 'c'))
	pid, _, _ = descFields(t, out)
	require.Equal(t, uint16(2), pid, "a late packet does not move the last value")

	// 7-bit picture IDs and payloads without the fields.
	var s vp8Rewriter
	short := []byte{0x90, 0x80, 0x05, 0x00}
	s.switchTo(codecVP8, short)
	require.Equal(t, short, s.rewrite(short))
	plain := []byte{0x10, 0x00}
	require.Equal(t, plain, s.rewrite(plain))

	// Other codecs are never touched.
	var h vp8Rewriter
	h.switchTo(codecH264, sw)
	require.Same(t, &sw[0], &h.rewrite(sw)[0])
}

// FuzzParseVP8Desc: the parser never reads outside the payload, and the
// rewriter keeps the length and every byte but the fields.
func FuzzParseVP8Desc(f *testing.F) {
	f.Add(vp8Payload(true, true, 300, 4, 2, 'x'))
	f.Add([]byte{0x80})
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Add([]byte{0x90, 0x70})
	f.Fuzz(func(t *testing.T, p []byte) {
		d, ok := parseVP8Desc(p)
		if !ok {
			return
		}
		for _, i := range []int{d.pidAt, d.tl0At, d.keyIdxAt} {
			if i >= len(p) {
				t.Fatalf("field index %d outside %d bytes", i, len(p))
			}
		}
		if d.pidWide && d.pidAt+1 >= len(p) {
			t.Fatalf("wide picture ID outside %d bytes", len(p))
		}
		var w vp8Rewriter
		w.switchTo(codecVP8, vp8Payload(true, true, 7, 7, 7, 0))
		_ = w.rewrite(vp8Payload(true, false, 8, 8, 8, 0))
		w.switchTo(codecVP8, p)
		out := w.rewrite(p)
		if len(out) != len(p) {
			t.Fatalf("length %d → %d", len(p), len(out))
		}
	})
}

// pidPublisher sends fake simulcast VP8 whose layers number their frames
// independently, as browsers do (picture ID, TL0PICIDX, KEYIDX).
func (c *client) publishVP8WithPictureIDs(layers []layerSpec, fps int) (stop func()) {
	c.t.Helper()
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, l := range layers {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			"cam", "stream-"+string(c.id), webrtc.WithRTPStreamID(l.rid))
		require.NoError(c.t, err)
		tracks = append(tracks, tr)
	}
	tx, err := c.pub.AddTransceiverFromTrack(tracks[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(c.t, err)
	sender := tx.Sender()
	for _, tr := range tracks[1:] {
		require.NoError(c.t, sender.AddEncoding(tr))
	}
	c.negotiatePublisher()
	var midID, ridID uint8
	for _, e := range sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	mid := tx.Mid()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, spec := range layers {
		var kfWanted sync.Mutex
		wantKey := false
		wg.Add(2)
		go func() { // keyframe requests
			defer wg.Done()
			for {
				pkts, _, err := sender.ReadSimulcastRTCP(spec.rid)
				if err != nil {
					return
				}
				if len(pkts) > 0 {
					kfWanted.Lock()
					wantKey = true
					kfWanted.Unlock()
				}
			}
		}()
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / time.Duration(fps))
			defer tick.Stop()
			seq, ts := uint16(rand.Uint32()), rand.Uint32()
			pid := uint16(rand.Uint32()) & 0x7FFF
			tl0, keyIdx := uint8(rand.Uint32()), uint8(i*9)
			for frame := 0; ; frame++ {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				ts += 90000 / uint32(fps)
				pid = (pid + 1) & 0x7FFF
				tl0++
				kfWanted.Lock()
				key := frame%fps == 0 || wantKey
				wantKey = false
				kfWanted.Unlock()
				if key {
					keyIdx = (keyIdx + 1) & 0x1F
				}
				for k := 0; k < spec.packets; k++ {
					payload := vp8Payload(k == 0, key, pid, tl0, keyIdx, byte('a'+i))
					payload = append(payload, make([]byte, spec.size)...)
					h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: k == spec.packets-1}
					_ = h.SetExtension(midID, []byte(mid))
					_ = h.SetExtension(ridID, []byte(spec.rid))
					seq++
					if err := tracks[i].WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
						return
					}
				}
			}
		}()
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			_ = sender.Stop()
			wg.Wait()
		})
	}
	c.t.Cleanup(stop)
	return stop
}

// TestVP8PictureIDsAcrossLayerSwitches: a subscriber moved between three
// simulcast layers whose picture IDs have nothing in common receives one
// sequence of picture IDs and TL0PICIDX, each frame one more than the last.
func TestVP8PictureIDsAcrossLayerSwitches(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
	sub := joinManual(t, s, "stage", "viewer", JoinOptions{AutoSubscribe: true})
	type frame struct {
		pid    uint16
		tl0    uint8
		marker byte
	}
	var mu sync.Mutex
	frames := map[int64]frame{} // by unwrapped sequence number, frame starts only
	var last int64 = -1
	sub.onPacket = func(pkt *rtp.Packet) {
		d, ok := parseVP8Desc(pkt.Payload)
		if !ok || d.pidAt == 0 || pkt.Payload[0]&0x10 == 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		seq := int64(pkt.SequenceNumber)
		if last >= 0 {
			seq = last + int64(int16(pkt.SequenceNumber-uint16(last)))
		}
		if seq > last {
			last = seq
		}
		frames[seq] = frame{d.pictureID(pkt.Payload), pkt.Payload[d.tl0At], pkt.Payload[7]}
	}
	go sub.autoAnswer()
	pub.publishVP8WithPictureIDs([]layerSpec{{"q", 1, 400}, {"h", 1, 400}, {"f", 1, 400}}, 30)
	tid := trackID("speaker", "cam")
	waitFor(t, 20*time.Second, "subscribed", func() bool { return len(sub.p.Subscriptions()) == 1 })

	markerNow := func() byte {
		mu.Lock()
		defer mu.Unlock()
		if last < 0 {
			return 0
		}
		return frames[last].marker
	}
	for _, step := range []struct {
		max  Layer
		want byte
	}{{LayerHigh, 'c'}, {LayerLow, 'a'}, {LayerMedium, 'b'}, {LayerHigh, 'c'}} {
		require.NoError(t, sub.p.SetTrackPreference(tid, TrackPreference{MaxLayer: step.max}))
		waitFor(t, 30*time.Second, "layer "+step.max.String(), func() bool { return markerNow() == step.want })
		n := sub.packets.Load()
		sub.waitPackets(n+20, "frames on layer "+step.max.String())
	}

	mu.Lock()
	defer mu.Unlock()
	seqs := make([]int64, 0, len(frames))
	for s := range frames {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var markers []byte
	for i, s := range seqs {
		f := frames[s]
		if len(markers) == 0 || markers[len(markers)-1] != f.marker {
			markers = append(markers, f.marker)
		}
		if i == 0 || s != seqs[i-1]+1 {
			continue // a lost packet between two frame starts: nothing to compare
		}
		prev := frames[seqs[i-1]]
		require.Equal(t, (prev.pid+1)&0x7FFF, f.pid, "picture ID continues at seq %d (%c→%c)", s, prev.marker, f.marker)
		require.Equal(t, prev.tl0+1, f.tl0, "TL0PICIDX continues at seq %d", s)
	}
	require.GreaterOrEqual(t, len(markers), 4, "the subscriber went through the layer switches: %q", markers)
	t.Logf("%d frames, layers %q", len(seqs), markers)
}
