package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSimulcastLayerSelection: a simulcast publisher and two subscribers
// capped at different bandwidths receive different layers; raising one cap
// makes it switch up; sequence numbers stay monotonic and every switch
// starts on a keyframe.
func TestSimulcastLayerSelection(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
	low := joinClient(t, s, "stage", "viewer-low", JoinOptions{AutoSubscribe: true, MaxBitrate: 250_000}, nil)
	high := joinClient(t, s, "stage", "viewer-high", JoinOptions{AutoSubscribe: true, MaxBitrate: 3_000_000}, nil)

	pub.publishVideo(defaultLadder, 30)
	tid := trackID("speaker", "cam")

	markerOf := func(c *client) func() bool {
		return func() bool { return c.received(tid) != nil }
	}
	waitFor(t, 10*time.Second, "low viewer receives the track", markerOf(low))
	waitFor(t, 10*time.Second, "high viewer receives the track", markerOf(high))
	waitMarker := func(c *client, want byte, what string) {
		t.Helper()
		// Generous: the send-side estimate (GCC) of a loaded CI machine can
		// dip below the top layer and recovers at ~8%/s.
		waitFor(t, 30*time.Second, what, func() bool {
			_, m := c.received(tid).snapshot()
			return m == want
		})
	}
	waitMarker(low, 'a', "low viewer on layer q")
	waitMarker(high, 'c', "high viewer on layer f")

	// Both stay where they are for a while (hysteresis, no flapping).
	time.Sleep(time.Second)
	_, m := low.received(tid).snapshot()
	require.Equal(t, byte('a'), m)
	_, m = high.received(tid).snapshot()
	require.Equal(t, byte('c'), m)

	low.p.SetMaxBitrate(3_000_000)
	waitMarker(low, 'c', "low viewer switches up to f after its cap is raised")

	// And a preference caps it again (rendered at 360p → layer h).
	require.NoError(t, low.p.SetTrackPreference(tid, TrackPreference{Height: 360}))
	waitMarker(low, 'b', "low viewer switches down to h for a 360p tile")
	waitFor(t, 5*time.Second, "layer events", func() bool { return len(low.eventsOf(EventLayerChanged)) >= 3 })

	// Video keeps flowing after the last switch.
	n0, _ := low.received(tid).snapshot()
	waitFor(t, 5*time.Second, "packets after the last switch", func() bool {
		n, _ := low.received(tid).snapshot()
		return n > n0+30
	})

	for name, c := range map[string]*client{"low": low, "high": high} {
		r := c.received(tid)
		r.mu.Lock()
		require.True(t, r.firstKey, "%s: first packet must be a keyframe", name)
		require.Zero(t, r.badSwitches, "%s: every layer switch must start on a keyframe (markers %q)", name, r.markers)
		require.Zero(t, r.backwards, "%s: sequence numbers must be monotonic", name)
		require.Zero(t, r.tsBackwards, "%s: timestamps must be monotonic", name)
		// Output sequence numbers are contiguous: no gap for the receiver to NACK.
		span := int(r.lastSeq-r.firstSeq) + 1
		require.Equal(t, span, len(r.seqs), "%s: contiguous sequence numbers", name)
		t.Logf("%s: %d packets, layer history %q", name, r.packets, r.markers)
		r.mu.Unlock()
	}
}
