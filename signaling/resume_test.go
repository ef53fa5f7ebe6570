package signaling_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

// recorder keeps every frame a client received, across resumes.
type recorder struct {
	mu     sync.Mutex
	frames [][]byte
}

func (r *recorder) all() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.frames...)
}

// dialRecorded is dial with a recorder of received frames.
func dialRecorded(e *env, t testing.TB, s *server, tok string) (*client.Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts := protocoltest.Options(t, e.V)
	validate := opts.OnFrame
	opts.OnFrame = func(dir client.Direction, data []byte) {
		validate(dir, data)
		if dir == client.Received {
			rec.mu.Lock()
			rec.frames = append(rec.frames, append([]byte(nil), data...))
			rec.mu.Unlock()
		}
	}
	c, err := client.Dial(ctxT(t), s.URL, tok, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, rec
}

// presenceSummary lists "type:participant:hand?:muted?" for presence events
// about the given participants, in the order received.
func presenceSummary(t testing.TB, frames [][]byte, ids ...string) []string {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []string
	for _, f := range frames {
		var e protocol.Envelope
		require.NoError(t, json.Unmarshal(f, &e))
		if e.Type != "presence.join" && e.Type != "presence.update" && e.Type != "presence.leave" {
			continue
		}
		p := participantIn(t, &e)
		if !want[p.ID] {
			continue
		}
		s := e.Type + ":" + p.Name
		if p.Hand != 0 {
			s += ":hand"
		}
		if p.Muted {
			s += ":muted"
		}
		out = append(out, s)
	}
	return out
}

func TestResumeDeliversMissedEventsOnce(t *testing.T) {
	e := newEnv(t)
	media := newFakeMedia()
	s := e.Start(t, signaling.Config{ResumeGrace: 10 * time.Second}, media)
	ada, rec := dialRecorded(e, t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
	bob := e.Dial(t, s, e.Token(t, tenantA, "bob", auth.RoleAttendee))
	ja := join(t, ada, "main", true)
	jb := join(t, bob, "main", false)
	waitEvent(t, ada, "presence.join", presenceOf(jb.Self.ID))

	ada.Drop()
	for _, step := range []struct {
		typ  string
		data any
	}{
		{"hand.raise", nil},
		{"media.mute", map[string]bool{"muted": true}},
		{"hand.lower", nil},
		{"media.mute", map[string]bool{"muted": false}},
	} {
		_, err := request(t, bob, step.typ, "main", step.data)
		require.NoError(t, err)
	}
	cy := e.Dial(t, s, e.Token(t, tenantA, "cy", auth.RoleAttendee))
	join(t, cy, "main", false)

	require.NoError(t, ada.Resume(ctxT(t)))
	require.Equal(t, ja.Self.ID, ada.Session().ID, "same identity")
	_, err := request(t, bob, "hand.raise", "main", nil) // a live event after the resume
	require.NoError(t, err)
	waitEvent(t, ada, "presence.update", func(ev *protocol.Envelope) bool {
		p := participantIn(t, ev)
		return p.ID == jb.Self.ID && p.Hand != 0 && len(presenceSummary(t, rec.all(), jb.Self.ID)) >= 6
	})

	require.Equal(t, []string{
		"presence.join:Bob",
		"presence.update:Bob:hand",
		"presence.update:Bob:hand:muted",
		"presence.update:Bob:muted",
		"presence.update:Bob",
		"presence.join:Cy",
		"presence.update:Bob:hand",
	}, presenceSummary(t, rec.all(), jb.Self.ID, cyID(t, rec)))
	require.Equal(t, uint64(len(rec.all())), ada.ReceivedFrames(), "every frame counted once")

	require.False(t, media.session(tenantA, "main", ja.Self.ID).hasLeft(), "media kept across the resume")
	_, err = request(t, ada, "hand.raise", "main", nil)
	require.NoError(t, err, "still a member of the room")
}

// cyID finds Cy's participant ID in the recorded presence.join events.
func cyID(t testing.TB, rec *recorder) string {
	for _, f := range rec.all() {
		var e protocol.Envelope
		require.NoError(t, json.Unmarshal(f, &e))
		if e.Type == "presence.join" {
			if p := participantIn(t, &e); p.Name == "Cy" {
				return p.ID
			}
		}
	}
	return ""
}

func TestResumeRefused(t *testing.T) {
	e := newEnv(t)
	media := newFakeMedia()
	s := e.Start(t, signaling.Config{ResumeGrace: 300 * time.Millisecond}, media)

	t.Run("after the grace period", func(t *testing.T) {
		obs := e.Dial(t, s, e.Token(t, tenantA, "obs", auth.RoleAttendee))
		join(t, obs, "late", false)
		ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
		ja := join(t, ada, "late", true)
		ada.Drop()
		ev := waitEvent(t, obs, "presence.leave", presenceOf(ja.Self.ID))
		require.Contains(t, string(ev.Data), `"reason":"disconnected"`)
		require.True(t, media.session(tenantA, "late", ja.Self.ID).hasLeft(), "media released after the grace period")
		err := ada.Resume(ctxT(t))
		requireCode(t, err, protocol.CodeResumeExpired)
	})
	t.Run("another user's token", func(t *testing.T) {
		ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
		join(t, ada, "main", false)
		ada.Drop()
		ada.SetToken(e.Token(t, tenantA, "mallory", auth.RoleSpeaker))
		requireCode(t, ada.Resume(ctxT(t)), protocol.CodeResumeExpired)
	})
	t.Run("clean close ends the session", func(t *testing.T) {
		obs := e.Dial(t, s, e.Token(t, tenantA, "obs", auth.RoleAttendee))
		join(t, obs, "bye", false)
		ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleSpeaker))
		ja := join(t, ada, "bye", false)
		require.NoError(t, ada.Close())
		ev := waitEvent(t, obs, "presence.leave", presenceOf(ja.Self.ID))
		require.Contains(t, string(ev.Data), `"reason":"left"`)
	})
}

func TestResumeTakesOverLiveConnection(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, nil)
	tok := e.Token(t, tenantA, "ada", auth.RoleSpeaker)
	old := e.Dial(t, s, tok)
	j := join(t, old, "main", false)
	c := e.Dial(t, s, tok)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r, err := c.Request(ctx, "resume", "", map[string]any{"token": j.Session.ResumeToken, "received": old.ReceivedFrames()})
	require.NoError(t, err)
	require.Contains(t, string(r.Data), `"rooms":["main"]`)
	<-old.Down()
	code, _ := old.CloseCode()
	require.Equal(t, protocol.CodeReplaced, code)
}
