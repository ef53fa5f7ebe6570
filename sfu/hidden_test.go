package sfu

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

// TestHiddenParticipant: a hidden participant (a relay link publishing, a
// recorder subscribing) is left out of the room's listing and count, of the
// visible-participants gauge and of the active-speaker race, while its
// tracks and subscriptions work as anyone's.
func TestHiddenParticipant(t *testing.T) {
	visible0, hidden0 := gaugeValue(t, metricParticipants), gaugeValue(t, metricHiddenParticipants)
	s := newTestSFU(t, nil)
	listener := joinClient(t, s, "room", "listener", JoinOptions{AutoSubscribe: true}, nil)
	speaker := joinClient(t, s, "room", "speaker", JoinOptions{}, nil)
	relay := joinClient(t, s, "room", "relay~edge", JoinOptions{Hidden: true}, nil)
	rec := joinClient(t, s, "room", "recorder-1", JoinOptions{Hidden: true, AutoSubscribe: true}, nil)
	require.True(t, rec.p.Hidden())
	require.False(t, listener.p.Hidden())

	speaker.publishAudio(35)
	relay.publishAudio(10) // louder than anyone, but no speaker of its own

	room, ok := s.LookupRoom(testTenant, "room")
	require.True(t, ok)
	require.Equal(t, []ParticipantID{"listener", "speaker"}, room.Participants())
	require.Equal(t, 2, room.ParticipantCount())
	require.Equal(t, visible0+2, gaugeValue(t, metricParticipants))
	require.Equal(t, hidden0+2, gaugeValue(t, metricHiddenParticipants))

	// The hidden publisher's track is listed and forwarded like any other;
	// the hidden subscriber receives everything.
	waitFor(t, 10*time.Second, "both audio tracks published", func() bool { return len(room.Tracks()) == 2 })
	for _, c := range []*client{listener, rec} {
		for _, tid := range []TrackID{trackID("speaker", "mic"), trackID("relay~edge", "mic")} {
			waitFor(t, 20*time.Second, string(c.id)+" receives "+string(tid), func() bool {
				r := c.received(tid)
				if r == nil {
					return false
				}
				n, _ := r.snapshot()
				return n > 10
			})
		}
	}
	load := s.Load()
	require.Equal(t, 4, load.Participants, "Load counts hidden participants: they hold connections")
	require.Equal(t, 2, load.Tracks)
	require.Equal(t, 2, load.Subscribers)

	waitFor(t, 10*time.Second, "speaker is the active speaker", func() bool {
		evs := listener.eventsOf(EventActiveSpeaker)
		return len(evs) > 0 && evs[len(evs)-1].Speaker == "speaker"
	})
	for _, ev := range listener.eventsOf(EventActiveSpeaker) {
		require.NotEqual(t, ParticipantID("relay~edge"), ev.Speaker, "a hidden participant is never the active speaker")
	}

	rec.close()
	relay.close()
	require.Equal(t, visible0+2, gaugeValue(t, metricParticipants))
	require.Equal(t, hidden0, gaugeValue(t, metricHiddenParticipants))
}
