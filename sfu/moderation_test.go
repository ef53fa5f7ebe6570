package sfu

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// packetsOf returns how many packets c received on track id.
func packetsOf(c *client, id TrackID) int {
	r := c.received(id)
	if r == nil {
		return 0
	}
	n, _ := r.snapshot()
	return n
}

// TestServerUnpublish: a moderator stops a speaker's camera; the track
// leaves the room and every subscriber, both sides are told, the audio
// keeps flowing.
func TestServerUnpublish(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
	sub := joinClient(t, s, "stage", "viewer", JoinOptions{AutoSubscribe: true}, nil)
	pub.publishVideo([]layerSpec{{"", 1, 500}}, 30)
	pub.publishAudio(30)
	cam, mic := trackID("speaker", "cam"), trackID("speaker", "mic")
	waitFor(t, 10*time.Second, "viewer receives audio and video", func() bool {
		return packetsOf(sub, cam) > 10 && packetsOf(sub, mic) > 10
	})

	require.ErrorIs(t, sub.p.Unpublish(cam), ErrTrackNotFound, "only the publisher's participant can stop it")
	require.ErrorIs(t, pub.p.Unpublish("speaker/nope"), ErrTrackNotFound)
	require.NoError(t, pub.p.Unpublish(cam))
	require.ErrorIs(t, pub.p.Unpublish(cam), ErrTrackNotFound, "already stopped")

	room, ok := s.LookupRoom(testTenant, "stage")
	require.True(t, ok)
	require.Len(t, room.Tracks(), 1)
	for _, c := range []*client{pub, sub} {
		waitFor(t, 5*time.Second, string(c.id)+" told", func() bool {
			evs := c.eventsOf(EventTrackUnpublished)
			return len(evs) == 1 && evs[0].Track.ID == cam
		})
	}
	waitFor(t, 5*time.Second, "viewer's down-track removed", func() bool {
		return len(sub.p.Subscriptions()) == 1
	})
	video, audio := packetsOf(sub, cam), packetsOf(sub, mic)
	waitFor(t, 5*time.Second, "audio keeps flowing", func() bool { return packetsOf(sub, mic) > audio+20 })
	require.LessOrEqual(t, packetsOf(sub, cam), video+1, "no video after the stop")
	require.ErrorIs(t, sub.p.Subscribe(cam), ErrTrackNotFound, "a stopped track cannot be subscribed")
}

// TestServerMute: muting stops media but keeps the subscription; unmuting
// resumes video on a keyframe with contiguous sequence numbers.
func TestServerMute(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "stage", "speaker", JoinOptions{}, nil)
	sub := joinClient(t, s, "stage", "viewer", JoinOptions{AutoSubscribe: true}, nil)
	pub.publishVideo([]layerSpec{{"", 2, 500}}, 30)
	pub.publishAudio(30)
	cam, mic := trackID("speaker", "cam"), trackID("speaker", "mic")
	waitFor(t, 10*time.Second, "viewer receives", func() bool {
		return packetsOf(sub, cam) > 10 && packetsOf(sub, mic) > 10
	})

	for _, id := range []TrackID{cam, mic} {
		require.NoError(t, pub.p.MuteTrack(id, true))
		require.NoError(t, pub.p.MuteTrack(id, true), "idempotent")
	}
	room, _ := s.LookupRoom(testTenant, "stage")
	for _, info := range room.Tracks() {
		require.True(t, info.Muted, "%s muted", info.ID)
	}
	waitFor(t, 5*time.Second, "mute events", func() bool {
		return len(sub.eventsOf(EventTrackMuted)) == 2 && len(pub.eventsOf(EventTrackMuted)) == 2
	})
	// Nothing more arrives (allow for packets already in flight).
	time.Sleep(200 * time.Millisecond)
	video, audio := packetsOf(sub, cam), packetsOf(sub, mic)
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, video, packetsOf(sub, cam), "video muted")
	require.Equal(t, audio, packetsOf(sub, mic), "audio muted")
	require.Len(t, sub.p.Subscriptions(), 2, "subscriptions stay")

	for _, id := range []TrackID{cam, mic} {
		require.NoError(t, pub.p.MuteTrack(id, false))
	}
	waitFor(t, 5*time.Second, "media resumes", func() bool {
		return packetsOf(sub, cam) > video+10 && packetsOf(sub, mic) > audio+10
	})
	evs := sub.eventsOf(EventTrackMuted)
	require.Len(t, evs, 4)
	require.False(t, evs[3].Track.Muted)
	for name, id := range map[string]TrackID{"video": cam, "audio": mic} {
		r := sub.received(id)
		r.mu.Lock()
		require.Equal(t, []bool{true}, r.afterGap, "%s: the first packet after the mute is a switch point", name)
		require.Equal(t, int(r.lastSeq-r.firstSeq)+1, len(r.seqs), "%s: contiguous sequence numbers across the mute", name)
		require.Zero(t, r.tsBackwards, "%s: timestamps advance", name)
		r.mu.Unlock()
	}
	err := pub.p.MuteTrack("speaker/nope", true)
	require.True(t, errors.Is(err, ErrTrackNotFound))
}
