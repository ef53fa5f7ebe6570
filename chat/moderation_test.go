package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// eventually retries fn until it returns nil, failing after testTimeout.
func eventually(t *testing.T, what string, fn func() *protocol.Error) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, testTimeout, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// TestSlowMode: attendees post once per interval; moderators are exempt;
// turning it off lifts it.
func TestSlowMode(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	mod := conn(tenantA, "mod", auth.RoleModerator, "main", "side")
	att := conn(tenantA, "att", auth.RoleAttendee, "main", "side")

	e.must(mod, "chat.slowmode", "main", map[string]any{"seconds": 1})
	e.pub.waitFor(t, tenantA, "main", "chat.moderation", func(d map[string]any) bool {
		return d["action"] == "slowmode" && d["seconds"] == float64(1)
	})
	e.send(att, "main", "one")
	_, perr := e.do(att, "chat.send", "main", map[string]any{"text": "two"})
	require.NotNil(t, perr)
	require.Equal(t, protocol.CodeSlowMode, perr.Code)
	require.True(t, perr.Retryable)
	e.send(att, "side", "other rooms are not slowed")
	e.send(mod, "main", "moderators are exempt")
	e.send(mod, "main", "twice")
	eventually(t, "send after the slow-mode interval", func() *protocol.Error {
		_, perr := e.do(att, "chat.send", "main", map[string]any{"text": "three"})
		return perr
	})

	e.must(mod, "chat.slowmode", "main", map[string]any{"seconds": 0})
	e.send(att, "main", "four")
	e.send(att, "main", "five")
	require.Equal(t, protocol.CodeInvalidPayload, e.code(mod, "chat.slowmode", "main", map[string]any{"seconds": -1}))
}

// TestSilenceAndBan: silences and bans by room and convention, timed and
// lifted.
func TestSilenceAndBan(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	mod := conn(tenantA, "mod", auth.RoleModerator, "main", "side")
	att := conn(tenantA, "att", auth.RoleAttendee, "main", "side")
	seq := e.send(att, "main", "hello")

	// Room silence: no posting there, reading and other rooms are fine.
	e.must(mod, "chat.silence", "main", map[string]any{"user": "att"})
	require.Equal(t, protocol.CodeSilenced, e.code(att, "chat.send", "main", map[string]any{"text": "x"}))
	require.Equal(t, protocol.CodeSilenced, e.code(att, "qa.ask", "main", map[string]any{"text": "x?"}))
	require.Equal(t, protocol.CodeSilenced, e.code(att, "chat.edit", "main", map[string]any{"message": seq, "text": "y"}))
	require.Equal(t, protocol.CodeSilenced, e.code(att, "chat.react", "main", map[string]any{"message": seq, "emoji": "👍"}))
	e.must(att, "chat.history", "main", map[string]any{})
	e.send(att, "side", "still allowed here")
	e.must(mod, "chat.silence", "main", map[string]any{"user": "att", "lift": true})
	e.send(att, "main", "back")

	// Convention-wide silence covers every room.
	e.must(mod, "chat.silence", "main", map[string]any{"user": "att", "scope": "convention"})
	require.Equal(t, protocol.CodeSilenced, e.code(att, "chat.send", "side", map[string]any{"text": "x"}))
	e.must(mod, "chat.silence", "main", map[string]any{"user": "att", "scope": "convention", "lift": true})
	e.send(att, "side", "free again")

	// A timed silence expires by itself.
	e.must(mod, "chat.silence", "main", map[string]any{"user": "att", "seconds": 1})
	require.Equal(t, protocol.CodeSilenced, e.code(att, "chat.send", "main", map[string]any{"text": "x"}))
	eventually(t, "send after a timed silence", func() *protocol.Error {
		_, perr := e.do(att, "chat.send", "main", map[string]any{"text": "expired"})
		return perr
	})

	// A ban also refuses reading: replay, history, lists.
	e.must(mod, "chat.ban", "main", map[string]any{"user": "att"})
	require.Equal(t, protocol.CodeBanned, e.code(att, "chat.send", "main", map[string]any{"text": "x"}))
	require.Equal(t, protocol.CodeBanned, e.code(att, "chat.history", "main", map[string]any{}))
	require.Equal(t, protocol.CodeBanned, e.code(att, "qa.list", "main", map[string]any{}))
	_, perr := e.svc.OnJoin(context.Background(), att, "main", 0)
	require.NotNil(t, perr)
	require.Equal(t, protocol.CodeBanned, perr.Code)
	e.send(att, "side", "the ban is per room")
	e.must(mod, "chat.ban", "main", map[string]any{"user": "att", "lift": true})
	e.join(att, "main", 0)

	// Moderation is announced in the room.
	e.pub.waitFor(t, tenantA, "main", "chat.moderation", func(d map[string]any) bool {
		return d["action"] == "ban" && d["user"] == "att" && d["by"] == "mod"
	})
}

// TestWordFilter: the tenant's word filter rejects whole words and phrases
// in chat, edits and questions, and only in its own tenant.
func TestWordFilter(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	org := conn(tenantA, "org", auth.RoleOrganizer, "main")
	att := conn(tenantA, "att", auth.RoleAttendee, "main")
	other := conn(tenantB, "att", auth.RoleAttendee, "main")

	require.Equal(t, protocol.CodeForbidden, e.code(conn(tenantA, "m", auth.RoleModerator), "chat.filter", "", map[string]any{"words": []string{"x"}}))
	ack := e.must(org, "chat.filter", "", map[string]any{"words": []string{"Spam", "buy now", "  ", "ΚΑΚΟ"}})
	require.Equal(t, float64(3), ack["words"])

	cases := []struct {
		text    string
		blocked bool
	}{
		{"this is spam", true},
		{"SPAM!", true},
		{"a-spam-b", true},
		{"spammer and antispam are fine", false},
		{"Buy   NOW, cheap", true},
		{"buy it now", false},
		{"κάτι κακός", false},
		{"κακο", true},
		{"hello", false},
	}
	for _, c := range cases {
		_, perr := e.do(att, "chat.send", "main", map[string]any{"text": c.text})
		if c.blocked {
			require.NotNil(t, perr, "%q must be filtered", c.text)
			require.Equal(t, protocol.CodeFiltered, perr.Code, c.text)
		} else {
			require.Nil(t, perr, "%q must pass", c.text)
		}
	}
	seq := e.send(att, "main", "clean")
	require.Equal(t, protocol.CodeFiltered, e.code(att, "chat.edit", "main", map[string]any{"message": seq, "text": "spam"}))
	require.Equal(t, protocol.CodeFiltered, e.code(att, "qa.ask", "main", map[string]any{"text": "is this spam?"}))
	e.send(other, "main", "spam is fine in another tenant")
}

// TestRateLimit: a user's writes are bounded by a token bucket.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, chat.Config{RatePerSecond: 0.001, RateBurst: 3}, nil)
	att := conn(tenantA, "att", auth.RoleAttendee, "main")
	for range 3 {
		e.send(att, "main", "ok")
	}
	_, perr := e.do(att, "chat.send", "main", map[string]any{"text": "too many"})
	require.NotNil(t, perr)
	require.Equal(t, protocol.CodeRateLimited, perr.Code)
	require.True(t, perr.Retryable)
	// Reads are not limited; other users have their own bucket.
	e.must(att, "chat.history", "main", map[string]any{})
	e.send(conn(tenantA, "other", auth.RoleAttendee, "main"), "main", "fine")
}

// TestRoleChecks: moderator and organizer commands refuse lower roles.
func TestRoleChecks(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	mod := conn(tenantA, "mod", auth.RoleModerator, "main")
	id := e.must(mod, "poll.create", "main", map[string]any{"question": "Q?", "options": []string{"a", "b"}})["id"].(string)
	qid := e.must(mod, "qa.ask", "main", map[string]any{"text": "Q?"})["id"].(string)
	seq := e.send(mod, "main", "hello")

	cases := []struct {
		role auth.Role
		typ  string
		room string
		data map[string]any
	}{
		{auth.RoleAttendee, "poll.create", "main", map[string]any{"question": "Q?", "options": []string{"a", "b"}}},
		{auth.RoleSpeaker, "poll.create", "main", map[string]any{"question": "Q?", "options": []string{"a", "b"}}},
		{auth.RoleAttendee, "poll.close", "main", map[string]any{"id": id}},
		{auth.RoleAttendee, "qa.approve", "main", map[string]any{"id": qid}},
		{auth.RoleAttendee, "qa.answer", "main", map[string]any{"id": qid}},
		{auth.RoleAttendee, "qa.dismiss", "main", map[string]any{"id": qid}},
		{auth.RoleAttendee, "qa.pin", "main", map[string]any{"id": qid}},
		{auth.RoleSpeaker, "qa.settings", "main", map[string]any{"premoderation": true}},
		{auth.RoleAttendee, "chat.silence", "main", map[string]any{"user": "mod"}},
		{auth.RoleAttendee, "chat.ban", "main", map[string]any{"user": "mod"}},
		{auth.RoleAttendee, "chat.slowmode", "main", map[string]any{"seconds": 5}},
		{auth.RoleAttendee, "chat.reports", "main", map[string]any{}},
		{auth.RoleModerator, "announce.send", "", map[string]any{"text": "hi"}},
		{auth.RoleModerator, "chat.filter", "", map[string]any{"words": []string{"x"}}},
		{auth.RoleAttendee, "chat.edit", "main", map[string]any{"message": seq, "text": "mine now"}},
		{auth.RoleAttendee, "chat.delete", "main", map[string]any{"message": seq}},
	}
	for _, c := range cases {
		t.Run(c.role.String()+"/"+c.typ, func(t *testing.T) {
			require.Equal(t, protocol.CodeForbidden, e.code(conn(tenantA, "u-"+c.role.String(), c.role, "main"), c.typ, c.room, c.data))
		})
	}
}

// TestRequestErrors: membership, unknown types, payload validation.
func TestRequestErrors(t *testing.T) {
	e := newEnv(t, chat.Config{MaxMessageRunes: 10}, nil)
	att := conn(tenantA, "att", auth.RoleAttendee, "main")
	cases := []struct {
		name string
		typ  string
		room string
		data any
		code int
	}{
		{"not joined", "chat.send", "other", map[string]any{"text": "hi"}, protocol.CodeNotInRoom},
		{"no room", "chat.send", "", map[string]any{"text": "hi"}, protocol.CodeInvalidPayload},
		{"bad room", "chat.send", "a b", map[string]any{"text": "hi"}, protocol.CodeInvalidPayload},
		{"unknown type", "chat.shout", "main", map[string]any{}, protocol.CodeUnknownType},
		{"unknown field", "chat.send", "main", map[string]any{"text": "hi", "html": "<b>"}, protocol.CodeInvalidPayload},
		{"wrong type", "chat.send", "main", map[string]any{"text": 5}, protocol.CodeInvalidPayload},
		{"empty text", "chat.send", "main", map[string]any{"text": " \n\t "}, protocol.CodeInvalidPayload},
		{"too long", "chat.send", "main", map[string]any{"text": "eleven chars"}, protocol.CodeMessageTooLong},
		{"edit missing", "chat.edit", "main", map[string]any{"message": 999, "text": "x"}, protocol.CodeNotFound},
		{"react word", "chat.react", "main", map[string]any{"message": 1, "emoji": "lol"}, protocol.CodeInvalidPayload},
		{"poll one option", "poll.vote", "main", map[string]any{"id": "p_x"}, protocol.CodeInvalidPayload},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.code, e.code(att, c.typ, c.room, c.data))
		})
	}
	// Ten characters is exactly the limit, counted in characters not bytes.
	e.send(att, "main", "ünïcödé 10")
}
