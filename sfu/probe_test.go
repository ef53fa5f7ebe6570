package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtp"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// TestMungerPadding: padding takes the next output sequence numbers, media
// continues after it, and a late packet from before the padding keeps its
// place instead of colliding with a padding packet.
func TestMungerPadding(t *testing.T) {
	m := newMunger(90000)
	h := func(seq uint16) *rtp.Header {
		return &rtp.Header{SSRC: 1, SequenceNumber: seq, Timestamp: uint32(seq) * 10}
	}
	m.switchTo(h(100), 0)
	for _, want := range []struct{ in, out uint16 }{{100, 100}, {102, 102}} {
		seq, _, ok := m.rewrite(h(want.in), 0)
		require.True(t, ok)
		require.Equal(t, want.out, seq)
	}
	p1, ts1 := m.pad()
	p2, ts2 := m.pad()
	require.Equal(t, []uint16{103, 104}, []uint16{p1, p2})
	require.Equal(t, uint32(1020), ts1, "padding repeats the last timestamp")
	require.Equal(t, ts1, ts2)
	seq, _, ok := m.rewrite(h(103), 0)
	require.True(t, ok)
	require.Equal(t, uint16(105), seq, "media continues after the padding")
	seq, _, ok = m.rewrite(h(101), 0)
	require.True(t, ok)
	require.Equal(t, uint16(101), seq, "a late packet keeps its place before the padding")
	// A switch forgets the padding point.
	m.switchTo(&rtp.Header{SSRC: 2, SequenceNumber: 7, Timestamp: 5}, int64(time.Millisecond))
	seq, _, ok = m.rewrite(&rtp.Header{SSRC: 2, SequenceNumber: 7, Timestamp: 5}, int64(time.Millisecond))
	require.True(t, ok)
	require.Equal(t, uint16(106), seq)
}

func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

// TestProbingSpeedsUpUpgrade: two identical rooms on two SFUs, one with
// probing and one without. Each viewer starts with a low send-side estimate
// and a cap that holds it on layer q; both caps are raised at once. The
// viewer of the probing SFU reaches layer f (the probe proves the headroom);
// the other one's estimate is still creeping up at GCC's ~8%/s. Only the
// switch is asserted; the times are logged.
func TestProbingSpeedsUpUpgrade(t *testing.T) {
	viewer := func(disable bool) *client {
		s := newTestSFU(t, func(c *Config) {
			c.InitialBitrate = 300_000
			c.DisableProbing = disable
			c.ProbeDuration = 400 * time.Millisecond
		})
		pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
		v := joinClient(t, s, "stage", "viewer", JoinOptions{AutoSubscribe: true, MaxBitrate: 200_000}, nil)
		pub.publishVideo(defaultLadder, 30)
		return v
	}
	tid := trackID("speaker", "cam")
	probing, plain := viewer(false), viewer(true)
	for _, v := range []*client{probing, plain} {
		waitFor(t, 15*time.Second, "viewer on layer q", func() bool {
			r := v.received(tid)
			if r == nil {
				return false
			}
			_, m := r.snapshot()
			return m == 'a'
		})
	}
	ok0 := counterValue(t, probesOK)
	bytes0 := counterValue(t, probeBytes)
	start := time.Now()
	probing.p.SetMaxBitrate(5_000_000)
	plain.p.SetMaxBitrate(5_000_000)
	waitFor(t, 90*time.Second, "probing viewer switches up to layer f", func() bool {
		_, m := probing.received(tid).snapshot()
		return m == 'c'
	})
	took := time.Since(start)
	_, plainLayer := plain.received(tid).snapshot()
	t.Logf("with probing: layer f after %s (estimate %d bit/s, allowed %d bit/s); without: layer %q after the same time (estimate %d bit/s)",
		took.Round(10*time.Millisecond), probing.p.estimate(), probing.p.Bandwidth(), plainLayer, plain.p.estimate())
	require.Greater(t, counterValue(t, probesOK), ok0, "a probe succeeded")
	require.Greater(t, counterValue(t, probeBytes), bytes0, "padding was sent")

	// Padding took sequence numbers without breaking the stream: still
	// contiguous, and every layer switch starts on a keyframe.
	r := probing.received(tid)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Zero(t, r.badSwitches, "layer history %q", r.markers)
	require.Equal(t, int(r.lastSeq-r.firstSeq)+1, len(r.seqs), "contiguous sequence numbers")
}

// fixedEstimator is a cc.BandwidthEstimator with a set target.
type fixedEstimator struct {
	cc.BandwidthEstimator
	target int
}

func (f fixedEstimator) GetTargetBitrate() int { return f.target }

// TestRetransmitBudget: the NACK responder may always spend a quarter of
// the send rate on retransmissions, and the whole estimate when larger.
func TestRetransmitBudget(t *testing.T) {
	cases := []struct{ estimate, sending, want int }{
		{100_000, 1_200_000, 300_000},
		{2_000_000, 1_200_000, 2_000_000},
		{500_000, 0, 500_000},
	}
	for _, c := range cases {
		rb := &retransmitBudget{BandwidthEstimator: fixedEstimator{target: c.estimate}, sendRate: func() int { return c.sending }}
		require.Equal(t, c.want, rb.GetTargetBitrate(), "estimate %d, sending %d", c.estimate, c.sending)
	}
}

// TestDynacastWaitsForAnnouncedLayers: a layer the publisher announced but
// has not sent yet is never paused (nobody could want it before it exists,
// and a paused layer would never arrive); once it arrived, an unwanted
// layer is paused as usual.
func TestDynacastWaitsForAnnouncedLayers(t *testing.T) {
	tr, _, _ := newForwardFixture(t, 1)
	tr.layers = [numLayers]*layerReceiver{}
	tr.expected = [numLayers]bool{true, true, true}
	tr.announced = LayerHigh
	tr.layers[LayerLow.idx()] = &layerReceiver{layer: LayerLow}
	dt := (*tr.downTracks.Load())[0]
	dt.target.Store(uint32(LayerLow))

	tr.updateDynacast()
	require.Equal(t, LayerHigh, tr.announced, "f was announced but not seen: keep it on")
	tr.layers[LayerHigh.idx()] = &layerReceiver{layer: LayerHigh}
	tr.updateDynacast()
	require.Equal(t, LayerMedium, tr.announced, "h still unseen")
	tr.layers[LayerMedium.idx()] = &layerReceiver{layer: LayerMedium}
	tr.updateDynacast()
	require.Equal(t, LayerLow, tr.announced, "all seen: only what the viewer wants")
}
