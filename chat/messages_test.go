package chat_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
)

// TestEditDelete: authors edit and delete their own messages, moderators
// delete any; pages and replays show the current state and never deleted
// text.
func TestEditDelete(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	alice := conn(tenantA, "alice", auth.RoleAttendee, "main")
	bob := conn(tenantA, "bob", auth.RoleAttendee, "main")
	mod := conn(tenantA, "mod", auth.RoleModerator, "main")

	s1 := e.send(alice, "main", "helo")
	s2 := e.send(bob, "main", "something rude")
	s3 := e.send(alice, "main", "<script>alert(1)</script>")

	e.must(alice, "chat.edit", "main", map[string]any{"message": s1, "text": "hello"})
	e.pub.waitFor(t, tenantA, "main", "chat.edited", func(d map[string]any) bool {
		return d["message"] == float64(s1) && d["text"] == "hello" && d["by"] == "alice"
	})
	e.must(mod, "chat.delete", "main", map[string]any{"message": s2})
	e.pub.waitFor(t, tenantA, "main", "chat.deleted", func(d map[string]any) bool { return d["message"] == float64(s2) })
	require.Equal(t, 4305, e.code(bob, "chat.edit", "main", map[string]any{"message": s2, "text": "again"}), "deleted is gone")

	page := e.must(bob, "chat.history", "main", map[string]any{})
	evs := page["events"].([]any)
	require.Len(t, evs, 3)
	data := func(i int) map[string]any { return evs[i].(map[string]any)["data"].(map[string]any) }
	require.Equal(t, "hello", data(0)["text"])
	require.Equal(t, true, data(0)["edited"])
	require.Equal(t, "", data(1)["text"])
	require.Equal(t, true, data(1)["deleted"])
	require.Equal(t, "<script>alert(1)</script>", data(2)["text"], "text is stored as plain text, unescaped")
	require.Equal(t, float64(s3), evs[2].(map[string]any)["seq"])

	// The replay carries the original event followed by the edit, and the
	// deleted message already redacted.
	replay, _ := e.join(bob, "main", 0)
	for _, ev := range replay {
		if ev.Type == "chat.message" && ev.Seq == s2 {
			require.Empty(t, text(t, ev))
		}
		require.NotContains(t, string(ev.Data), "rude")
	}
}

// TestReactions: reactions are idempotent per user and emoji, counted live
// and shown in pages.
func TestReactions(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	a := conn(tenantA, "a", auth.RoleAttendee, "main")
	b := conn(tenantA, "b", auth.RoleAttendee, "main")
	seq := e.send(a, "main", "react to me")

	e.must(a, "chat.react", "main", map[string]any{"message": seq, "emoji": "👍"})
	e.must(a, "chat.react", "main", map[string]any{"message": seq, "emoji": "👍"}) // no-op
	e.must(b, "chat.react", "main", map[string]any{"message": seq, "emoji": "👍"})
	e.must(b, "chat.react", "main", map[string]any{"message": seq, "emoji": "🎉"})
	e.pub.waitFor(t, tenantA, "main", "chat.reaction", func(d map[string]any) bool {
		return d["emoji"] == "👍" && d["count"] == float64(2)
	})
	e.must(b, "chat.react", "main", map[string]any{"message": seq, "emoji": "🎉", "remove": true})
	e.pub.waitFor(t, tenantA, "main", "chat.reaction", func(d map[string]any) bool {
		return d["emoji"] == "🎉" && d["count"] == float64(0)
	})
	page := e.must(a, "chat.history", "main", map[string]any{})
	msg := page["events"].([]any)[0].(map[string]any)["data"].(map[string]any)
	require.Equal(t, map[string]any{"👍": float64(2)}, msg["reactions"])
	require.Equal(t, 4305, e.code(a, "chat.react", "main", map[string]any{"message": seq + 100, "emoji": "👍"}))
}

// TestHistoryPaging pages backwards through messages with chat.history.
func TestHistoryPaging(t *testing.T) {
	e := newEnv(t, chat.Config{MaxPage: 20}, nil)
	a := conn(tenantA, "a", auth.RoleAttendee, "main")
	mod := conn(tenantA, "mod", auth.RoleModerator, "main")
	for i := 1; i <= 45; i++ {
		e.send(a, "main", fmt.Sprintf("m %d", i))
		if i%10 == 0 { // other event types are not in pages
			e.must(mod, "poll.create", "main", map[string]any{"question": "q?", "options": []string{"a", "b"}})
		}
	}
	var got []string
	before := uint64(0)
	for {
		page := e.must(a, "chat.history", "main", map[string]any{"before": before, "limit": 1000})
		evs := page["events"].([]any)
		require.LessOrEqual(t, len(evs), 20, "limit is capped at MaxPage")
		var texts []string
		for _, ev := range evs {
			texts = append(texts, ev.(map[string]any)["data"].(map[string]any)["text"].(string))
		}
		got = append(texts, got...)
		if page["more"] != true {
			break
		}
		before = uint64(evs[0].(map[string]any)["seq"].(float64))
	}
	require.Len(t, got, 45)
	for i, s := range got {
		require.Equal(t, fmt.Sprintf("m %d", i+1), s)
	}
}

// TestAnnouncements: organizers announce to one room or to every room of
// the convention; announcements are sequenced like any room event.
func TestAnnouncements(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	org := conn(tenantA, "org", auth.RoleOrganizer)
	// Rooms are known once they have events (joins register them too, in
	// the background).
	for _, room := range []string{"main", "side", "hall"} {
		e.send(conn(tenantA, "x", auth.RoleAttendee, room), room, "hi")
	}
	e.send(conn(tenantB, "x", auth.RoleAttendee, "main"), "main", "hi")

	ack := e.must(org, "announce.send", "", map[string]any{"text": "Lunch is served"})
	require.Equal(t, float64(3), ack["rooms"])
	for _, room := range []string{"main", "side", "hall"} {
		d := e.pub.waitFor(t, tenantA, room, "announce.message", func(map[string]any) bool { return true })
		require.Equal(t, "Lunch is served", d["text"])
		require.Equal(t, "convention", d["scope"])
	}
	for _, ev := range e.pub.room(tenantB, "main") {
		require.NotEqual(t, "announce.message", ev.Type, "another tenant's rooms get nothing")
	}

	ack = e.must(org, "announce.send", "side", map[string]any{"text": "Side only"})
	require.Equal(t, float64(1), ack["rooms"])
	evs, _ := e.join(conn(tenantA, "y", auth.RoleAttendee, "side"), "side", 0)
	require.Len(t, evs, 3)
	var d map[string]any
	require.NoError(t, json.Unmarshal(evs[2].Data, &d))
	require.Equal(t, "Side only", d["text"])
	require.Equal(t, "room", d["scope"])
}
