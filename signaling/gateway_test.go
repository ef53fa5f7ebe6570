package signaling_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
)

func TestUpgradeRefusedBeforeHandshake(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	otherKeys := newEnv(t)
	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"garbage", "not-a-jwt"},
		{"signed with another key", otherKeys.Token(t, tenantA, "mallory", auth.RoleOrganizer)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			_, err := client.Dial(ctx, s.URL, tc.token, client.Options{})
			var he *client.HandshakeError
			require.ErrorAs(t, err, &he)
			require.Equal(t, http.StatusUnauthorized, he.Status)
			require.Contains(t, he.Body, `"code"`)
		})
	}
}

func TestOriginCheck(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{AllowedOrigins: []string{"https://con.example.org"}}, nil)
	tok := e.Token(t, tenantA, "ada", auth.RoleAttendee)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"https://con.example.org", true},
		{"https://evil.example.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			c, err := client.Dial(ctx, s.URL, tok, client.Options{Header: h})
			if tc.ok {
				require.NoError(t, err)
				_ = c.Close()
				return
			}
			var he *client.HandshakeError
			require.ErrorAs(t, err, &he)
			require.Equal(t, http.StatusForbidden, he.Status)
		})
	}
}

func TestJoinPresenceAndLeave(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
	bob := e.Dial(t, s, e.Token(t, tenantA, "bob", auth.RoleAttendee))

	ja := join(t, ada, "main", false)
	require.Equal(t, "speaker", ja.Self.Role)
	require.True(t, ja.CanPublish)
	require.Len(t, ja.Participants, 1)
	require.NotEmpty(t, ja.Session.ResumeToken)

	jb := join(t, bob, "main", false)
	require.False(t, jb.CanPublish)
	require.Len(t, jb.Participants, 2)
	require.Equal(t, 2, jb.Count)
	require.ElementsMatch(t, []string{ja.Self.ID, jb.Self.ID}, []string{jb.Participants[0].ID, jb.Participants[1].ID})

	got := participantIn(t, waitEvent(t, ada, "presence.join", presenceOf(jb.Self.ID)))
	require.Equal(t, "Bob", got.Name)
	require.Equal(t, "attendee", got.Role)

	_, err := request(t, bob, "leave", "main", nil)
	require.NoError(t, err)
	ev := waitEvent(t, ada, "presence.leave", presenceOf(jb.Self.ID))
	var d struct{ Reason string }
	require.NoError(t, json.Unmarshal(ev.Data, &d))
	require.Equal(t, "left", d.Reason)

	_, err = request(t, bob, "hand.raise", "main", nil)
	requireCode(t, err, protocol.CodeNotInRoom)
}

func TestJoinChecks(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	tests := []struct {
		name string
		tok  string
		room string
		opts client.JoinOptions
		code int
	}{
		{"room not granted", e.Token(t, tenantA, "ada", auth.RoleModerator, "side"), "main", client.JoinOptions{}, protocol.CodeForbidden},
		{"invalid room", e.Token(t, tenantA, "ada", auth.RoleAttendee), "no spaces", client.JoinOptions{}, protocol.CodeInvalidPayload},
		{"other tenant named", e.Token(t, tenantA, "ada", auth.RoleOrganizer), "main", client.JoinOptions{Tenant: "beta"}, protocol.CodeWrongTenant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.Dial(t, s, tc.tok)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			f := false
			tc.opts.Media = &f
			if tc.room == "no spaces" {
				// An invalid room breaks the request schema too; send it raw.
				require.NoError(t, c.WriteRaw(websocket.TextMessage, []byte(`{"v":1,"id":"x1","type":"join","room":"no spaces"}`)))
				ev := waitEvent(t, c, "error", nil)
				require.Equal(t, tc.code, ev.Error.Code)
				return
			}
			_, err := c.Join(ctx, tc.room, tc.opts)
			requireCode(t, err, tc.code)
		})
	}
	t.Run("organizer ignores room grants", func(t *testing.T) {
		c := e.Dial(t, s, e.Token(t, tenantA, "org", auth.RoleOrganizer, "side"))
		join(t, c, "main", false)
	})
	t.Run("same tenant named", func(t *testing.T) {
		c := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		f := false
		_, err := c.Join(ctx, "main", client.JoinOptions{Tenant: "alpha", Media: &f})
		require.NoError(t, err)
	})
}

// TestBadInputKeepsConnectionHealthy sends each kind of bad input and checks
// the error code and that the connection (and room) still work after it.
func TestBadInputKeepsConnectionHealthy(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, newFakeMedia())
	c := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
	peer := e.Dial(t, s, e.Token(t, tenantA, "bob", auth.RoleAttendee))
	j := join(t, c, "main", true)
	join(t, peer, "main", false)

	raw := []struct {
		name  string
		mt    int
		frame []byte
		code  int
	}{
		{"malformed json", websocket.TextMessage, []byte(`{"v":1,"type":`), protocol.CodeMalformed},
		{"not an object", websocket.TextMessage, []byte(`[1,2,3]`), protocol.CodeMalformed},
		{"unknown envelope field", websocket.TextMessage, []byte(`{"v":1,"type":"ping","x":1}`), protocol.CodeMalformed},
		{"wrong version", websocket.TextMessage, []byte(`{"v":2,"type":"ping"}`), protocol.CodeUnsupportedVersion},
		{"unknown type", websocket.TextMessage, []byte(`{"v":1,"id":"u1","type":"nope.nothing"}`), protocol.CodeUnknownType},
		{"binary frame", websocket.BinaryMessage, []byte{1, 2, 3}, protocol.CodeMalformed},
		{"oversize frame", websocket.TextMessage, []byte(`{"v":1,"type":"ping","data":{"pad":"` + strings.Repeat("x", protocol.MaxFrame) + `"}}`), protocol.CodeFrameTooLarge},
		{"bad payload", websocket.TextMessage, []byte(`{"v":1,"id":"p1","type":"ping","data":{"received":"many"}}`), protocol.CodeInvalidPayload},
	}
	for _, tc := range raw {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, c.WriteRaw(tc.mt, tc.frame))
			ev := waitEvent(t, c, "error", nil)
			require.Equal(t, tc.code, ev.Error.Code, ev.Error.Message)
			_, err := request(t, c, "ping", "", nil)
			require.NoError(t, err, "connection still healthy")
		})
	}
	t.Run("invalid sdp", func(t *testing.T) {
		_, err := request(t, c, "media.offer", "main", map[string]string{"type": "offer", "sdp": "v=0 bad"})
		requireCode(t, err, protocol.CodeInvalidSDP)
		_, err = request(t, c, "media.answer", "main", map[string]string{"type": "answer", "sdp": "v=0 bad"})
		requireCode(t, err, protocol.CodeInvalidSDP)
		r, err := request(t, c, "media.offer", "main", map[string]string{"type": "offer", "sdp": "v=0\r\ngood"})
		require.NoError(t, err)
		require.Contains(t, string(r.Data), "answer")
	})
	t.Run("room still healthy", func(t *testing.T) {
		_, err := request(t, c, "hand.raise", "main", nil)
		require.NoError(t, err)
		p := participantIn(t, waitEvent(t, peer, "presence.update", presenceOf(j.Self.ID)))
		require.NotZero(t, p.Hand)
	})
}

func TestJoinTimeout(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{JoinTimeout: 200 * time.Millisecond}, nil)
	c := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	select {
	case <-c.Down():
	case <-time.After(waitTimeout):
		t.Fatal("connection not closed after the join timeout")
	}
	code, _ := c.CloseCode()
	require.Equal(t, protocol.CodeTimeout, code)
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{RateLimit: 5, RateBurst: 3}, nil)
	c := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	var limited int
	for range 10 {
		if _, err := request(t, c, "ping", "", nil); err != nil {
			requireCode(t, err, protocol.CodeRateLimited)
			require.True(t, err.(*protocol.Error).Retryable)
			limited++
		}
	}
	require.NotZero(t, limited)
	eventually(t, "tokens refilled", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Request(ctx, "ping", "", nil)
		return err == nil
	})
}

func TestDrain(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	c := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	join(t, c, "main", false)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, s.G.Drain(ctx))
	<-c.Down()
	code, _ := c.CloseCode()
	require.Equal(t, protocol.CodeDraining, code)

	_, err := client.Dial(ctx, s.URL, e.Token(t, tenantA, "bob", auth.RoleAttendee), client.Options{})
	var he *client.HandshakeError
	require.ErrorAs(t, err, &he)
	require.Equal(t, http.StatusServiceUnavailable, he.Status)
}
