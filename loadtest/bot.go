package loadtest

import (
	"context"
	"fmt"
	"time"
)

// Bot is one simulated participant. The runner starts it on its group's
// ramp, asks it to act on the group's schedule, reconnects it when its
// connection drops, and finally counts and closes it. Chat, viewer and
// speaker bots implement it; tests may plug others in.
type Bot interface {
	// Start connects and joins the bot's room. It returns when joined, or
	// with the failure (already counted in the recorder).
	Start(ctx context.Context) error
	// Act performs one scheduled action; false means the bot cannot now
	// (not connected, nothing to react to) and the runner picks another.
	Act(a Action) bool
	// Lost reports whether the bot's connection dropped since it was last
	// up; the runner then calls Reconnect.
	Lost() bool
	// Reconnect resumes the session or joins again. It returns the
	// failure (already counted); the runner retries with backoff.
	Reconnect(ctx context.Context) error
	// Drop cuts the connection as a network failure would; false if the
	// bot was not connected.
	Drop() bool
	// Upkeep is called about twenty times a second by the supervisor, from
	// one goroutine for all bots: the bot drains events nobody reads and
	// now and then confirms received frames to the server (so it can
	// release them from the session's replay buffer).
	Upkeep(now time.Time)
	// Finish counts what the bot received against the room's final
	// sequence number head (completeness).
	Finish(head uint64)
	// Close leaves and releases everything. Idempotent.
	Close() error
}

// Action is something a bot does on the scenario's schedule.
type Action uint8

// Actions.
const (
	// ActUnknown is the zero value.
	ActUnknown Action = iota
	// ActChat sends a chat message carrying its send time.
	ActChat
	// ActReact reacts to the room's newest message.
	ActReact
	// ActAsk asks a Q&A question.
	ActAsk
	// ActUpvote upvotes a recent question.
	ActUpvote
	// ActVote votes in the open poll.
	ActVote
	numActions
)

// String names the action.
func (a Action) String() string {
	switch a {
	case ActChat:
		return "chat"
	case ActReact:
		return "react"
	case ActAsk:
		return "ask"
	case ActUpvote:
		return "upvote"
	case ActVote:
		return "vote"
	}
	return "unknown"
}

// Request-id kinds (see requestID): the first letter of a fire-and-forget
// request's id says what it was.
const (
	idChat   = 'm'
	idReact  = 'r'
	idAsk    = 'q'
	idUpvote = 'u'
	idVote   = 'v'
	idPing   = 'p'
)

// subject is the identity of bot i of group g in run id: unique across
// shards (i is the index in the group) and runs.
func subject(runID, group string, i int) string {
	return fmt.Sprintf("lt-%s-%s-%d", runID, group, i)
}
