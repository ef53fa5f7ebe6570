package signaling_test

import (
	"encoding/json"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
)

// target is the data of the mod.* requests.
func target(id string) map[string]string { return map[string]string{"participant": id} }

func TestAttendeeCannotModerate(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	att := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	spk := e.Dial(t, s, e.Token(t, tenantA, "sam", auth.RoleSpeaker))
	join(t, att, "main", false)
	js := join(t, spk, "main", false)
	for _, typ := range []string{"mod.promote", "mod.demote", "mod.mute", "mod.unmute", "mod.remove", "mod.ban"} {
		t.Run(typ, func(t *testing.T) {
			_, err := request(t, att, typ, "main", target(js.Self.ID))
			requireCode(t, err, protocol.CodeForbidden)
		})
	}
	t.Run("mod.lock", func(t *testing.T) {
		_, err := request(t, att, "mod.lock", "main", map[string]bool{"locked": true})
		requireCode(t, err, protocol.CodeForbidden)
	})
	t.Run("hand.lower of another", func(t *testing.T) {
		_, err := request(t, att, "hand.lower", "main", target(js.Self.ID))
		requireCode(t, err, protocol.CodeForbidden)
	})
	t.Run("speaker cannot moderate either", func(t *testing.T) {
		_, err := request(t, spk, "mod.mute", "main", target(js.Self.ID))
		requireCode(t, err, protocol.CodeForbidden)
	})
	t.Run("attendee cannot publish", func(t *testing.T) {
		_, err := request(t, att, "media.offer", "main", map[string]string{"type": "offer", "sdp": "v=0\r\n"})
		requireCode(t, err, protocol.CodeForbidden)
	})
}

func TestModeratorCannotActOnEqualRole(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	m1 := e.Dial(t, s, e.Token(t, tenantA, "mod1", auth.RoleModerator))
	m2 := e.Dial(t, s, e.Token(t, tenantA, "mod2", auth.RoleModerator))
	org := e.Dial(t, s, e.Token(t, tenantA, "org", auth.RoleOrganizer))
	join(t, m1, "main", false)
	j2 := join(t, m2, "main", false)
	join(t, org, "main", false)
	_, err := request(t, m1, "mod.remove", "main", target(j2.Self.ID))
	requireCode(t, err, protocol.CodeForbidden)
	_, err = request(t, org, "mod.demote", "main", target(j2.Self.ID))
	require.NoError(t, err, "organizers can do anything in their tenant")
	_, err = request(t, m1, "mod.mute", "main", target("p_nobody"))
	requireCode(t, err, protocol.CodeNoParticipant)
}

func TestPromoteDemoteLive(t *testing.T) {
	e := newEnv(t)
	media := newFakeMedia()
	s := e.Start(t, signaling.Config{}, media)
	mod := e.Dial(t, s, e.Token(t, tenantA, "mo", auth.RoleModerator))
	att := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	join(t, mod, "main", false)
	ja := join(t, att, "main", true)
	offer := map[string]string{"type": "offer", "sdp": "v=0\r\n"}

	_, err := request(t, att, "media.offer", "main", offer)
	requireCode(t, err, protocol.CodeForbidden)

	_, err = request(t, mod, "mod.promote", "main", target(ja.Self.ID))
	require.NoError(t, err)
	ev := waitEvent(t, att, "mod.promoted", nil)
	require.JSONEq(t, `{"by":"`+mustSelfID(t, mod)+`","role":"speaker","can_publish":true}`, string(ev.Data))
	p := participantIn(t, waitEvent(t, mod, "presence.update", presenceOf(ja.Self.ID)))
	require.Equal(t, "speaker", p.Role)
	_, err = request(t, att, "media.offer", "main", offer)
	require.NoError(t, err, "publishes after promotion without rejoining")

	old := media.session(tenantA, "main", ja.Self.ID)
	_, err = request(t, mod, "mod.demote", "main", target(ja.Self.ID))
	require.NoError(t, err)
	waitEvent(t, att, "mod.demoted", nil)
	reset := waitEvent(t, att, "media.reset", nil)
	require.JSONEq(t, `{"reason":"demoted","can_publish":false}`, string(reset.Data))
	waitEvent(t, att, "media.offer", nil) // the new subscriber connection's offer
	require.True(t, old.hasLeft(), "the demoted participant's media session ended")
	_, err = request(t, att, "media.offer", "main", offer)
	requireCode(t, err, protocol.CodeForbidden)
}

// mustSelfID is the participant ID of a client's session.
func mustSelfID(t testing.TB, c interface{ Session() clientSession }) string {
	t.Helper()
	return c.Session().ID
}

func TestMuteRemoveBanLock(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	mod := e.Dial(t, s, e.Token(t, tenantA, "mo", auth.RoleModerator))
	ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
	bob := e.Dial(t, s, e.Token(t, tenantA, "bob", auth.RoleAttendee))
	join(t, mod, "main", false)
	ja := join(t, ada, "main", false)
	jb := join(t, bob, "main", false)

	_, err := request(t, mod, "mod.mute", "main", target(ja.Self.ID))
	require.NoError(t, err)
	waitEvent(t, ada, "mod.muted", nil)
	require.True(t, participantIn(t, waitEvent(t, mod, "presence.update", presenceOf(ja.Self.ID))).Muted)

	_, err = request(t, mod, "mod.remove", "main", target(ja.Self.ID))
	require.NoError(t, err)
	waitEvent(t, ada, "mod.removed", nil)
	ev := waitEvent(t, mod, "presence.leave", presenceOf(ja.Self.ID))
	require.Contains(t, string(ev.Data), `"reason":"removed"`)
	_, err = request(t, ada, "hand.raise", "main", nil)
	requireCode(t, err, protocol.CodeNotInRoom)
	join(t, ada, "main", false) // removed, not banned: may come back

	_, err = request(t, mod, "mod.ban", "main", target(jb.Self.ID))
	require.NoError(t, err)
	rm := waitEvent(t, bob, "mod.removed", nil)
	require.Contains(t, string(rm.Data), `"banned":true`)
	_, err = bob.Join(ctxT(t), "main", noMedia())
	requireCode(t, err, protocol.CodeBanned)
	bob2 := e.Dial(t, s, e.Token(t, tenantA, "bob", auth.RoleAttendee))
	_, err = bob2.Join(ctxT(t), "main", noMedia())
	requireCode(t, err, protocol.CodeBanned)

	r, err := request(t, mod, "mod.lock", "main", map[string]bool{"locked": true})
	require.NoError(t, err)
	require.Contains(t, string(r.Data), `"locked":true`)
	st := waitEvent(t, ada, "room.state", nil)
	require.Contains(t, string(st.Data), `"locked":true`)
	cy := e.Dial(t, s, e.Token(t, tenantA, "cy", auth.RoleSpeaker))
	_, err = cy.Join(ctxT(t), "main", noMedia())
	requireCode(t, err, protocol.CodeRoomLocked)
	mod2 := e.Dial(t, s, e.Token(t, tenantA, "mo2", auth.RoleModerator))
	join(t, mod2, "main", false) // moderators may enter a locked room
	_, err = request(t, mod, "mod.lock", "main", map[string]bool{"locked": false})
	require.NoError(t, err)
	join(t, cy, "main", false)
}

func TestHandQueue(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	mod := e.Dial(t, s, e.Token(t, tenantA, "mo", auth.RoleModerator))
	ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	join(t, mod, "main", false)
	ja := join(t, ada, "main", false)

	r, err := request(t, ada, "hand.raise", "main", nil)
	require.NoError(t, err)
	var d struct {
		Participant struct{ Hand int64 } `json:"participant"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &d))
	require.NotZero(t, d.Participant.Hand)
	require.NotZero(t, participantIn(t, waitEvent(t, mod, "presence.update", presenceOf(ja.Self.ID))).Hand)

	_, err = request(t, mod, "hand.lower", "main", target(ja.Self.ID))
	require.NoError(t, err)
	require.Zero(t, participantIn(t, waitEvent(t, mod, "presence.update", presenceOf(ja.Self.ID))).Hand)

	_, err = request(t, ada, "hand.raise", "main", nil)
	require.NoError(t, err)
	_, err = request(t, ada, "hand.lower", "main", nil)
	require.NoError(t, err)
	_, err = request(t, ada, "media.mute", "main", map[string]bool{"muted": true})
	require.NoError(t, err)
	p := participantIn(t, waitEvent(t, mod, "presence.update", func(e *protocolEnvelope) bool {
		return presenceOf(ja.Self.ID)(e) && participantIn(t, e).Muted
	}))
	require.Zero(t, p.Hand)
}

// TestMuteRequestsRefused: malformed mute options get 4003 and leave the
// connection usable; a hard mute without media still refuses the
// participant's own unmute until mod.unmute.
func TestMuteRequestsRefused(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	mod := e.Dial(t, s, e.Token(t, tenantA, "mo", auth.RoleModerator))
	ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
	join(t, mod, "main", false)
	ja := join(t, ada, "main", false)

	// These break the request schemas too: send them raw.
	for _, tc := range []struct {
		c     *client.Client
		frame string
	}{
		{mod, `{"v":1,"id":"x1","type":"mod.demote","room":"main","data":{"participant":"` + ja.Self.ID + `","hard":true}}`},
		{mod, `{"v":1,"id":"x2","type":"mod.unmute","room":"main","data":{"participant":"` + ja.Self.ID + `","video":true}}`},
		{ada, `{"v":1,"id":"x3","type":"media.mute","room":"main","data":{"muted":false,"kind":"screen"}}`},
	} {
		require.NoError(t, tc.c.WriteRaw(websocket.TextMessage, []byte(tc.frame)))
		ev := waitEvent(t, tc.c, "error", nil)
		require.Equal(t, protocol.CodeInvalidPayload, ev.Error.Code, tc.frame)
	}

	_, err := request(t, mod, "mod.mute", "main", map[string]any{"participant": ja.Self.ID, "hard": true})
	require.NoError(t, err)
	waitEvent(t, ada, "mod.muted", nil)
	_, err = request(t, ada, "media.mute", "main", map[string]bool{"muted": false})
	requireCode(t, err, protocol.CodeForbidden)
	_, err = request(t, ada, "mod.unmute", "main", target(ja.Self.ID))
	requireCode(t, err, protocol.CodeForbidden)
	_, err = request(t, mod, "mod.unmute", "main", target(ja.Self.ID))
	require.NoError(t, err)
	ev := waitEvent(t, ada, "mod.unmuted", nil)
	require.JSONEq(t, `{"by":"`+mustSelfID(t, mod)+`"}`, string(ev.Data))
	r, err := request(t, ada, "media.mute", "main", map[string]bool{"muted": false})
	require.NoError(t, err)
	require.False(t, participantIn(t, r).Muted)
}
