package chat_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// TestQAVoteOnce: each user upvotes a question once; counts come from the
// votes and order the list.
func TestQAVoteOnce(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	alice := conn(tenantA, "alice", auth.RoleAttendee, "main")
	bob := conn(tenantA, "bob", auth.RoleAttendee, "main")

	q1 := e.must(alice, "qa.ask", "main", map[string]any{"text": "first question?"})["id"].(string)
	q2 := e.must(alice, "qa.ask", "main", map[string]any{"text": "second question?"})["id"].(string)
	require.NotEqual(t, q1, q2)

	e.must(alice, "qa.upvote", "main", map[string]any{"id": q2})
	require.Equal(t, protocol.CodeAlreadyVoted, e.code(alice, "qa.upvote", "main", map[string]any{"id": q2}))
	e.must(bob, "qa.upvote", "main", map[string]any{"id": q2})
	require.Equal(t, protocol.CodeAlreadyVoted, e.code(bob, "qa.upvote", "main", map[string]any{"id": q2}))
	e.must(bob, "qa.upvote", "main", map[string]any{"id": q1})
	require.Equal(t, protocol.CodeNotFound, e.code(bob, "qa.upvote", "main", map[string]any{"id": "q_nope"}))

	// Live: a coalesced qa.question event carries the count.
	e.pub.waitFor(t, tenantA, "main", "qa.question", func(d map[string]any) bool {
		return d["id"] == q2 && d["votes"] == float64(2)
	})
	list := e.must(bob, "qa.list", "main", map[string]any{})["questions"].([]any)
	require.Len(t, list, 2)
	require.Equal(t, q2, list[0].(map[string]any)["id"], "more votes sort first")
	require.Equal(t, float64(2), list[0].(map[string]any)["votes"])

	// A pinned question goes on top; an answered one stays listed.
	mod := conn(tenantA, "mod", auth.RoleModerator, "main")
	e.must(mod, "qa.pin", "main", map[string]any{"id": q1})
	e.must(mod, "qa.answer", "main", map[string]any{"id": q2, "answer": "yes"})
	list = e.must(bob, "qa.list", "main", map[string]any{})["questions"].([]any)
	require.Equal(t, q1, list[0].(map[string]any)["id"])
	require.Equal(t, "answered", list[1].(map[string]any)["status"])
	require.Equal(t, "yes", list[1].(map[string]any)["answer"])

	// Dismissed questions leave the list and cannot be voted on.
	e.must(mod, "qa.dismiss", "main", map[string]any{"id": q1})
	list = e.must(bob, "qa.list", "main", map[string]any{})["questions"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, protocol.CodeNotFound, e.code(conn(tenantA, "carol", auth.RoleAttendee, "main"), "qa.upvote", "main", map[string]any{"id": q1}))
}

// TestQAPremoderation: with pre-moderation, attendees' questions wait for a
// moderator and are invisible to others until approved.
func TestQAPremoderation(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	mod := conn(tenantA, "mod", auth.RoleModerator, "main")
	att := conn(tenantA, "att", auth.RoleAttendee, "main")
	other := conn(tenantA, "other", auth.RoleAttendee, "main")

	s := e.must(mod, "qa.settings", "main", map[string]any{"premoderation": true})
	require.Equal(t, true, s["premoderation"])
	ack := e.must(att, "qa.ask", "main", map[string]any{"text": "may I?"})
	require.Equal(t, "pending", ack["status"])
	id := ack["id"].(string)
	e.pub.waitFor(t, tenantA, "main", "qa.queue", func(d map[string]any) bool { return d["pending"] == float64(1) })
	for _, ev := range e.pub.room(tenantA, "main") {
		require.NotEqual(t, "qa.question", ev.Type, "a pending question must not be published")
	}

	require.Empty(t, e.must(other, "qa.list", "main", map[string]any{})["questions"])
	require.Equal(t, protocol.CodeForbidden, e.code(other, "qa.list", "main", map[string]any{"status": "pending"}))
	require.Equal(t, protocol.CodeNotFound, e.code(other, "qa.upvote", "main", map[string]any{"id": id}))
	pending := e.must(mod, "qa.list", "main", map[string]any{"status": "pending"})["questions"].([]any)
	require.Len(t, pending, 1)

	e.must(mod, "qa.approve", "main", map[string]any{"id": id})
	e.pub.waitFor(t, tenantA, "main", "qa.question", func(d map[string]any) bool { return d["id"] == id && d["status"] == "approved" })
	require.Len(t, e.must(other, "qa.list", "main", map[string]any{})["questions"], 1)
	e.must(other, "qa.upvote", "main", map[string]any{"id": id})

	// Closing Q&A refuses new questions.
	e.must(mod, "qa.settings", "main", map[string]any{"open": false})
	require.Equal(t, protocol.CodeClosed, e.code(att, "qa.ask", "main", map[string]any{"text": "late?"}))
}

// TestPollVoteOnce: one vote per user, live results, no votes after close.
func TestPollVoteOnce(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	mod := conn(tenantA, "mod", auth.RoleModerator, "main")
	voters := []*fakeConn{
		conn(tenantA, "v1", auth.RoleAttendee, "main"),
		conn(tenantA, "v2", auth.RoleAttendee, "main"),
		conn(tenantA, "v3", auth.RoleSpeaker, "main"),
	}
	id := e.must(mod, "poll.create", "main", map[string]any{"question": "Best talk?", "options": []string{"A", "B", "C"}})["id"].(string)
	e.pub.waitFor(t, tenantA, "main", "poll.created", func(d map[string]any) bool { return d["id"] == id })

	e.must(voters[0], "poll.vote", "main", map[string]any{"id": id, "option": 1})
	require.Equal(t, protocol.CodeAlreadyVoted, e.code(voters[0], "poll.vote", "main", map[string]any{"id": id, "option": 1}))
	require.Equal(t, protocol.CodeAlreadyVoted, e.code(voters[0], "poll.vote", "main", map[string]any{"id": id, "option": 2}))
	e.must(voters[1], "poll.vote", "main", map[string]any{"id": id, "option": 1})
	e.must(voters[2], "poll.vote", "main", map[string]any{"id": id, "option": 0})
	require.Equal(t, protocol.CodeInvalidPayload, e.code(mod, "poll.vote", "main", map[string]any{"id": id, "option": 3}))
	require.Equal(t, protocol.CodeNotFound, e.code(mod, "poll.vote", "main", map[string]any{"id": "p_nope", "option": 0}))

	e.pub.waitFor(t, tenantA, "main", "poll.results", func(d map[string]any) bool { return d["total"] == float64(3) })

	e.must(mod, "poll.close", "main", map[string]any{"id": id})
	closed := e.pub.waitFor(t, tenantA, "main", "poll.closed", func(d map[string]any) bool { return d["id"] == id })
	require.Equal(t, []any{float64(1), float64(2), float64(0)}, closed["counts"])
	require.Equal(t, protocol.CodeClosed, e.code(mod, "poll.vote", "main", map[string]any{"id": id, "option": 0}))

	polls := e.must(voters[0], "poll.list", "main", map[string]any{})["polls"].([]any)
	require.Len(t, polls, 1)
	require.Equal(t, true, polls[0].(map[string]any)["closed"])
	require.Equal(t, float64(3), polls[0].(map[string]any)["total"])
}
