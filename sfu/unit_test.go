package sfu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

func TestMungerContinuityAcrossSwitches(t *testing.T) {
	m := newMunger(90000)
	now := int64(0)
	hdr := func(ssrc uint32, seq uint16, ts uint32) *rtp.Header {
		return &rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}
	}
	type step struct {
		h   *rtp.Header
		sw  bool
		ok  bool
		seq uint16
	}
	steps := []step{
		{hdr(1, 100, 1000), true, true, 100},
		{hdr(1, 101, 1000), false, true, 101},
		{hdr(1, 103, 4000), false, true, 103}, // gap preserved (publisher loss)
		{hdr(1, 102, 4000), false, true, 102}, // late packet keeps its place
		{hdr(1, 103, 4000), false, false, 0},  // duplicate dropped
		{hdr(2, 65534, 9), true, true, 104},   // new source: continues at last+1
		{hdr(2, 65535, 9), false, true, 105},
		{hdr(2, 0, 3009), false, true, 106},  // wrap-around
		{hdr(2, 65533, 9), false, false, 0},  // older than the switch point
		{hdr(1, 104, 7000), true, true, 107}, // back to the first source
	}
	var lastTS uint32
	for i, s := range steps {
		now += int64(10 * time.Millisecond)
		if s.sw {
			m.switchTo(s.h, now)
		}
		seq, ts, ok := m.rewrite(s.h, now)
		require.Equal(t, s.ok, ok, "step %d", i)
		if !ok {
			continue
		}
		require.Equal(t, s.seq, seq, "step %d", i)
		if s.sw && i > 0 {
			require.Greater(t, ts, lastTS, "step %d: timestamp must advance across a switch", i)
		}
		lastTS = ts
	}
}

func TestKeyframeDetection(t *testing.T) {
	tests := []struct {
		name    string
		kind    codecKind
		payload []byte
		want    bool
	}{
		{"vp8 key, no ext", codecVP8, []byte{0x10, 0x00, 0x9d}, true},
		{"vp8 delta", codecVP8, []byte{0x10, 0x01, 0x9d}, false},
		{"vp8 not start", codecVP8, []byte{0x00, 0x00}, false},
		{"vp8 key, 15-bit picture id", codecVP8, []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"vp8 delta, picture id + tl0", codecVP8, []byte{0x90, 0xC0, 0x12, 0x05, 0x01}, false},
		{"vp8 truncated", codecVP8, []byte{0x90, 0x80}, false},
		{"h264 idr", codecH264, []byte{0x65, 0x88}, true},
		{"h264 sps", codecH264, []byte{0x67, 0x42}, true},
		{"h264 non-idr", codecH264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps", codecH264, []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68}, true},
		{"h264 stap-a malformed", codecH264, []byte{0x18, 0xFF, 0xFF, 0x67}, false},
		{"h264 fu-a idr start", codecH264, []byte{0x7C, 0x85, 0x00}, true},
		{"h264 fu-a idr middle", codecH264, []byte{0x7C, 0x05, 0x00}, false},
		{"empty", codecVP8, nil, false},
		{"opus", codecOpus, []byte{1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, isKeyframe(tt.kind, tt.payload))
		})
	}
}

func FuzzKeyframe(f *testing.F) {
	f.Add([]byte{0x90, 0x80, 0x81, 0x23, 0x00})
	f.Add([]byte{0x18, 0x00, 0x02, 0x67, 0x42})
	f.Fuzz(func(t *testing.T, b []byte) {
		for k := codecUnknown; k <= codecAV1; k++ {
			_ = isKeyframe(k, b)
		}
	})
}

func TestKeyframeThrottleMerges(t *testing.T) {
	var sent atomic.Int32
	k := newKeyframeThrottle(100*time.Millisecond, func() { sent.Add(1) })
	defer k.close()
	for range 50 {
		k.request()
	}
	require.EqualValues(t, 1, sent.Load(), "first request goes out, the rest are merged")
	// The merged request fires once at the end of the window.
	deadline := time.Now().Add(2 * time.Second)
	for sent.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.EqualValues(t, 2, sent.Load())

	// A keyframe arriving inside the window satisfies a merged request.
	for range 10 {
		k.request()
	}
	k.keyframeReceived()
	time.Sleep(150 * time.Millisecond)
	require.EqualValues(t, 2, sent.Load())
}

// TestKeyframeThrottleStaleTimer: a timer run that is due before the last
// PLI (it fired late, after a request had sent one and queued another) must
// not send a second PLI inside the window. -race runs of the 50-viewer test
// on a loaded machine found this.
func TestKeyframeThrottleStaleTimer(t *testing.T) {
	var sent atomic.Int32
	k := newKeyframeThrottle(time.Hour, func() { sent.Add(1) })
	defer k.close()
	k.request() // sent
	k.request() // merged: pending, timer armed for the end of the window
	k.fire()    // the stale run
	require.EqualValues(t, 1, sent.Load())
	k.mu.Lock()
	require.True(t, k.pending, "the merged request still waits for the window")
	k.mu.Unlock()
}

func TestLayerSelectorHysteresis(t *testing.T) {
	all := [numLayers]bool{true, true, true}
	rates := [numLayers]int{100_000, 300_000, 900_000}
	s := layerSelector{hold: time.Second}
	t0 := time.Now()
	tests := []struct {
		at     time.Duration
		budget int
		max    Layer
		want   Layer
	}{
		{0, 400_000, LayerHigh, LayerMedium},                        // initial: best that fits
		{100 * time.Millisecond, 2_000_000, LayerHigh, LayerMedium}, // upgrade must wait
		{900 * time.Millisecond, 2_000_000, LayerHigh, LayerMedium},
		{1200 * time.Millisecond, 2_000_000, LayerHigh, LayerHigh}, // held long enough
		{1300 * time.Millisecond, 850_000, LayerHigh, LayerMedium}, // downgrade is immediate
		{1400 * time.Millisecond, 50_000, LayerHigh, LayerLow},     // nothing fits: lowest
		{1500 * time.Millisecond, 2_000_000, LayerLow, LayerLow},   // preference caps
		{1600 * time.Millisecond, 2_000_000, LayerNone, LayerNone}, // paused
	}
	for i, tt := range tests {
		got := s.choose(t0.Add(tt.at), tt.budget, rates, all, tt.max)
		require.Equal(t, tt.want, got, "step %d", i)
	}
	// Missing layers are skipped.
	s = layerSelector{}
	got := s.choose(t0, 2_000_000, rates, [numLayers]bool{true, false, false}, LayerHigh)
	require.Equal(t, LayerLow, got)
}

func TestAudioLevelMeter(t *testing.T) {
	m := audioLevelMeter{extID: 1}
	for _, lvl := range []byte{30, 30, 40} {
		h := rtp.Header{}
		require.NoError(t, h.SetExtension(1, []byte{lvl}))
		m.observe(&h)
	}
	l := m.drain()
	require.InDelta(t, 0.5*(127-float64(100)/3), l, 0.01)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"bad port", Config{UDPPort: 70000}, false},
		{"bad nat ip", Config{NAT1To1IPs: []string{"x"}}, false},
		{"bad bind", Config{BindIP: "nope"}, false},
		{"bitrates", Config{InitialBitrate: 5, MaxBitrate: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrInvalidConfig)
			}
		})
	}
}

func TestParseEnums(t *testing.T) {
	for _, l := range []Layer{LayerNone, LayerLow, LayerMedium, LayerHigh} {
		got, err := ParseLayer(l.String())
		require.NoError(t, err)
		require.Equal(t, l, got)
	}
	for _, tg := range []Target{TargetPublisher, TargetSubscriber} {
		got, err := ParseTarget(tg.String())
		require.NoError(t, err)
		require.Equal(t, tg, got)
	}
	_, err := ParseTarget("x")
	require.ErrorIs(t, err, ErrInvalidTarget)
	require.Equal(t, LayerLow, TrackPreference{Height: 180}.layer())
	require.Equal(t, LayerMedium, TrackPreference{Width: 640}.layer())
	require.Equal(t, LayerHigh, TrackPreference{}.layer())
	require.Equal(t, LayerNone, TrackPreference{Paused: true}.layer())
}
