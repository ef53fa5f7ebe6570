package sfu

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
)

// TestKeyframeRequestsMerged: 50 subscribers requesting keyframes at once
// cause at most one PLI to the publisher per throttle window.
func TestKeyframeRequestsMerged(t *testing.T) {
	const (
		viewers = 50
		window  = 500 * time.Millisecond
	)
	// PLIs are timed where the SFU sends them: timing them at the
	// publisher would also measure how late a loaded test machine lets the
	// publisher's RTCP goroutine run.
	var sentMu sync.Mutex
	var sent []time.Time
	hook := func(uint32) {
		sentMu.Lock()
		sent = append(sent, time.Now())
		sentMu.Unlock()
	}
	pliHook.Store(&hook)
	t.Cleanup(func() { pliHook.Store(nil) })
	s := newTestSFU(t, func(c *Config) { c.KeyframeInterval = window })
	pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
	vp := pub.publishVideo([]layerSpec{{"", 1, 500}}, 30)
	tid := trackID("speaker", "cam")

	var subs []*client
	for i := range viewers {
		subs = append(subs, joinClient(t, s, "stage", ParticipantID(fmt.Sprint("viewer-", i)), JoinOptions{AutoSubscribe: true}, nil))
	}
	for _, c := range subs {
		waitFor(t, 30*time.Second, "every viewer receives video", func() bool {
			r := c.received(tid)
			if r == nil {
				return false
			}
			n, _ := r.snapshot()
			return n > 0
		})
	}
	// Let the start-up keyframe requests age out of the window.
	time.Sleep(2 * window)
	vp.pliMu.Lock()
	before := len(vp.pliTimes)
	vp.pliMu.Unlock()

	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for _, c := range subs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: c.received(tid).ssrc}})
			}()
		}
		wg.Wait()
		time.Sleep(window / 3)
	}
	time.Sleep(3 * window)

	vp.pliMu.Lock()
	burst := len(vp.pliTimes) - before
	vp.pliMu.Unlock()
	require.Positive(t, burst, "the keyframe requests reached the publisher")
	// 150 requests over ~1 s: at most one PLI per window (plus one for the
	// request merged at the end of the last window).
	require.LessOrEqual(t, burst, 3, "PLIs at the publisher: %d", burst)
	sentMu.Lock()
	times := append([]time.Time(nil), sent...)
	sentMu.Unlock()
	for i := 1; i < len(times); i++ {
		gap := times[i].Sub(times[i-1])
		// 10% tolerance for timer granularity.
		require.GreaterOrEqual(t, gap, window*9/10, "two PLIs sent %s apart", gap)
	}
	t.Logf("%d viewers × 3 rounds of PLI → %d PLIs at the publisher", viewers, burst)
}

// TestDynacastPausesUnwantedLayer: once nobody wants the top layer, the
// publisher is told to pause it within 2 s; wanting it again resumes it.
func TestDynacastPausesUnwantedLayer(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
	a := joinClient(t, s, "stage", "a", JoinOptions{AutoSubscribe: true}, nil)
	b := joinClient(t, s, "stage", "b", JoinOptions{AutoSubscribe: true}, nil)
	pub.publishVideo(defaultLadder, 30)
	tid := trackID("speaker", "cam")
	for _, c := range []*client{a, b} {
		waitFor(t, 30*time.Second, "viewer on layer f", func() bool {
			r := c.received(tid)
			if r == nil {
				return false
			}
			_, m := r.snapshot()
			return m == 'c'
		})
	}
	lastMax := func() (Layer, bool) {
		evs := pub.eventsOf(EventPublisherLayers)
		if len(evs) == 0 {
			return LayerNone, false
		}
		return evs[len(evs)-1].MaxLayer, true
	}

	start := time.Now()
	require.NoError(t, a.p.SetTrackPreference(tid, TrackPreference{MaxLayer: LayerMedium}))
	require.NoError(t, b.p.Unsubscribe(tid))
	waitFor(t, 2*time.Second, "publisher told to pause layer f", func() bool {
		l, ok := lastMax()
		return ok && l == LayerMedium
	})
	t.Logf("pause signalled %s after the last subscriber gave up layer f", time.Since(start))

	// The remaining viewer continues on h.
	waitFor(t, 5*time.Second, "viewer a on layer h", func() bool {
		_, m := a.received(tid).snapshot()
		return m == 'b'
	})

	require.NoError(t, a.p.SetTrackPreference(tid, TrackPreference{}))
	waitFor(t, 2*time.Second, "publisher told to resume layer f", func() bool {
		l, ok := lastMax()
		return ok && l == LayerHigh
	})
	waitFor(t, 5*time.Second, "viewer a back on f", func() bool {
		_, m := a.received(tid).snapshot()
		return m == 'c'
	})
}

// TestActiveSpeaker: the loudest of three audio publishers is reported.
func TestActiveSpeaker(t *testing.T) {
	s := newTestSFU(t, nil)
	listener := joinClient(t, s, "room", "listener", JoinOptions{AutoSubscribe: true}, nil)
	levels := map[ParticipantID]byte{"quiet": 50, "loud": 20, "medium": 35}
	for id, lvl := range levels {
		c := joinClient(t, s, "room", id, JoinOptions{}, nil)
		c.publishAudio(lvl)
	}
	waitFor(t, 10*time.Second, "loud is the active speaker", func() bool {
		evs := listener.eventsOf(EventActiveSpeaker)
		return len(evs) > 0 && evs[len(evs)-1].Speaker == "loud"
	})
	// It stays the active speaker.
	time.Sleep(500 * time.Millisecond)
	evs := listener.eventsOf(EventActiveSpeaker)
	last := evs[len(evs)-1]
	require.Equal(t, ParticipantID("loud"), last.Speaker)
}
