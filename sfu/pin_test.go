package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPinnedLayer: a subscriber whose bandwidth only fits the lowest layer
// still receives the layer it pinned (a recorder pins the top one); without
// the pin it falls back to what fits. Switches still start on keyframes.
func TestPinnedLayer(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
	rec := joinClient(t, s, "stage", "recorder-1", JoinOptions{AutoSubscribe: true, Hidden: true, MaxBitrate: 250_000}, nil)
	pub.publishVideo(defaultLadder, 30)
	tid := trackID("speaker", "cam")
	waitFor(t, 10*time.Second, "recorder subscribed", func() bool { return len(rec.p.Subscriptions()) == 1 })

	waitMarker := func(want byte, what string) {
		t.Helper()
		waitFor(t, 30*time.Second, what, func() bool {
			r := rec.received(tid)
			if r == nil {
				return false
			}
			_, m := r.snapshot()
			return m == want
		})
	}
	waitMarker('a', "capped subscriber on layer q")

	require.ErrorIs(t, rec.p.SetTrackPreference(tid, TrackPreference{Pin: Layer(7)}), ErrInvalidLayer)
	require.ErrorIs(t, rec.p.SetTrackPreference("nobody/cam", TrackPreference{Pin: LayerHigh}), ErrNotSubscribed)

	require.NoError(t, rec.p.SetTrackPreference(tid, TrackPreference{Pin: LayerHigh}))
	waitMarker('c', "pinned subscriber on layer f despite its 250 kbit/s cap")
	require.Less(t, rec.p.Bandwidth(), 1_000_000, "the cap still holds: only the pin overrides it")
	// It stays there across many allocation rounds.
	n0, _ := rec.received(tid).snapshot()
	waitFor(t, 20*time.Second, "packets on the pinned layer", func() bool {
		n, _ := rec.received(tid).snapshot()
		return n > n0+60
	})
	_, m := rec.received(tid).snapshot()
	require.Equal(t, byte('c'), m)

	// A pin on the middle layer, then no pin: back to what fits.
	require.NoError(t, rec.p.SetTrackPreference(tid, TrackPreference{Pin: LayerMedium}))
	waitMarker('b', "pinned to layer h")
	require.NoError(t, rec.p.SetTrackPreference(tid, TrackPreference{}))
	waitMarker('a', "unpinned: back to layer q")

	r := rec.received(tid)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.True(t, r.firstKey)
	require.Zero(t, r.badSwitches, "every switch starts on a keyframe (markers %q)", r.markers)
	require.Zero(t, r.backwards)
}
