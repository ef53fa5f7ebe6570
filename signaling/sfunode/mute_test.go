package sfunode_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	st "github.com/plenaryhq/plenary/signaling/signalingtest"
)

// trackState matches media.track events of state about a track of
// participant's of kind.
func trackState(t *testing.T, ev *protocol.Envelope, state, participant, kind string) bool {
	t.Helper()
	var d struct {
		State string `json:"state"`
		Track struct {
			Participant string `json:"participant"`
			Kind        string `json:"kind"`
			Muted       bool   `json:"muted"`
		} `json:"track"`
	}
	require.NoError(t, json.Unmarshal(ev.Data, &d))
	return d.State == state && d.Track.Participant == participant && d.Track.Kind == kind && d.Track.Muted == (state == "muted")
}

// waitTrack waits for a media.track event of state about participant's
// track of kind.
func (m *member) waitTrack(t *testing.T, state, participant, kind string) {
	t.Helper()
	for {
		if trackState(t, m.waitFor(t, "media.track"), state, participant, kind) {
			return
		}
	}
}

// requireSilent asserts that to receives no packet of kind from from while
// it receives at least 45 more of other (~1.5 s of 30 fps video, or 0.9 s
// of audio): a kind that is muted at the node, while the publisher keeps
// sending both. Packets in flight at the mute are let through first.
func requireSilent(t *testing.T, to, from *member, kind, other string) {
	t.Helper()
	id := to.peer
	step := func(n int64) {
		base := id.Packets(from.j.Self.ID, other)
		st.Eventually(t, "more "+other+" packets", func() bool { return id.Packets(from.j.Self.ID, other) >= base+n })
	}
	step(10)
	muted := id.Packets(from.j.Self.ID, kind)
	step(45)
	require.Equal(t, muted, id.Packets(from.j.Self.ID, kind), "%s packets arrived from %s although muted at the node", kind, from.j.Self.Name)
}

// requireResumed waits until to receives n more packets of kind from from.
func requireResumed(t *testing.T, to, from *member, kind string, n int64) {
	t.Helper()
	base := to.peer.Packets(from.j.Self.ID, kind)
	st.Eventually(t, kind+" resumes", func() bool { return to.peer.Packets(from.j.Self.ID, kind) >= base+n })
}

// TestModeratorMuteAtSFU: mod.mute is enforced by the SFU (the subscriber
// receives nothing of the muted kind although the publisher keeps sending),
// a plain mute is lifted by the participant itself, a hard one only after
// mod.unmute.
func TestModeratorMuteAtSFU(t *testing.T) {
	e := st.NewEnv(t)
	s := e.Start(t, signaling.Config{}, newNode(t))
	ctx := st.Ctx(t)
	ada := joinMedia(t, e, s, e.Token(t, st.TenantA, "ada", auth.RoleSpeaker), "stage")
	bob := joinMedia(t, e, s, e.Token(t, st.TenantA, "bob", auth.RoleAttendee), "stage")
	mod := joinMedia(t, e, s, e.Token(t, st.TenantA, "mod", auth.RoleModerator), "stage")
	adaID := ada.j.Self.ID

	require.NoError(t, ada.peer.Publish(ctx, peerOpts(30, true)))
	requireResumed(t, bob, ada, "audio", 20)
	requireResumed(t, bob, ada, "video", 20)

	t.Run("mute stops the audio at the SFU; the participant may unmute itself", func(t *testing.T) {
		_, err := st.Request(t, mod.c, "mod.mute", "stage", map[string]any{"participant": adaID})
		require.NoError(t, err)
		ev := ada.waitFor(t, "mod.muted")
		require.JSONEq(t, `{"by":"`+mod.j.Self.ID+`"}`, string(ev.Data))
		// The track event (from the SFU) and the presence update (from the
		// gateway) come in either order.
		var track, presence bool
		for !track || !presence {
			ev := bob.waitFor(t, "")
			switch ev.Type {
			case "media.track":
				track = track || trackState(t, ev, "muted", adaID, "audio")
			case "presence.update":
				presence = presence || st.ParticipantIn(t, ev).Muted
			}
		}
		requireSilent(t, bob, ada, "audio", "video")

		r, err := st.Request(t, ada.c, "media.mute", "stage", map[string]any{"muted": false})
		require.NoError(t, err)
		require.False(t, st.ParticipantIn(t, r).Muted)
		bob.waitTrack(t, "unmuted", adaID, "audio")
		requireResumed(t, bob, ada, "audio", 20)
	})

	t.Run("hard mute with video: only mod.unmute lets the participant unmute", func(t *testing.T) {
		_, err := st.Request(t, mod.c, "mod.mute", "stage", map[string]any{"participant": adaID, "video": true, "hard": true})
		require.NoError(t, err)
		ev := ada.waitFor(t, "mod.muted")
		require.JSONEq(t, `{"by":"`+mod.j.Self.ID+`","video":true,"hard":true}`, string(ev.Data))
		bob.waitTrack(t, "muted", adaID, "video")
		// Nothing of ada reaches bob: count bob's own clock by mod's audio.
		require.NoError(t, mod.peer.Publish(ctx, peerOpts(0, true)))
		requireSilentOf(t, bob, ada, "video", mod, "audio")
		requireSilentOf(t, bob, ada, "audio", mod, "audio")

		_, err = st.Request(t, ada.c, "media.mute", "stage", map[string]any{"muted": false})
		st.RequireCode(t, err, protocol.CodeForbidden)
		_, err = st.Request(t, ada.c, "media.mute", "stage", map[string]any{"muted": false, "kind": "video"})
		st.RequireCode(t, err, protocol.CodeForbidden)

		_, err = st.Request(t, mod.c, "mod.unmute", "stage", map[string]any{"participant": adaID})
		require.NoError(t, err)
		ada.waitFor(t, "mod.unmuted")
		requireSilentOf(t, bob, ada, "audio", mod, "audio") // mod.unmute unmutes nothing by itself

		_, err = st.Request(t, ada.c, "media.mute", "stage", map[string]any{"muted": false})
		require.NoError(t, err)
		requireResumed(t, bob, ada, "audio", 20)
		requireSilent(t, bob, ada, "video", "audio") // the camera stays muted until unmuted itself
		_, err = st.Request(t, ada.c, "media.mute", "stage", map[string]any{"muted": false, "kind": "video"})
		require.NoError(t, err)
		requireResumed(t, bob, ada, "video", 20)
	})

	t.Run("only moderators mute", func(t *testing.T) {
		_, err := st.Request(t, bob.c, "mod.mute", "stage", map[string]any{"participant": adaID})
		st.RequireCode(t, err, protocol.CodeForbidden)
	})
}

// requireSilentOf asserts that to receives no packet of kind from from
// while it receives 45 more packets of clockKind from clock.
func requireSilentOf(t *testing.T, to, from *member, kind string, clock *member, clockKind string) {
	t.Helper()
	step := func(n int64) {
		base := to.peer.Packets(clock.j.Self.ID, clockKind)
		st.Eventually(t, "more "+clockKind+" packets of "+clock.j.Self.Name, func() bool {
			return to.peer.Packets(clock.j.Self.ID, clockKind) >= base+n
		})
	}
	step(10)
	muted := to.peer.Packets(from.j.Self.ID, kind)
	step(45)
	require.Equal(t, muted, to.peer.Packets(from.j.Self.ID, kind), "%s packets arrived from %s", kind, from.j.Self.Name)
}
