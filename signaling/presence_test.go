package signaling_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
)

// TestPresenceBatching: in a room with enough local members, presence
// events within one window travel as one presence.batch frame, in order.
func TestPresenceBatching(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{PresenceBatchMin: 2, PresenceWindow: 200 * time.Millisecond}, nil)
	watcher, rec := dialRecorded(e, t, s, e.Token(t, tenantA, "watch", auth.RoleAttendee))
	join(t, watcher, "big", false)
	ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	ja := join(t, ada, "big", false)
	for _, typ := range []string{"hand.raise", "hand.lower", "hand.raise"} {
		_, err := request(t, ada, typ, "big", nil)
		require.NoError(t, err)
	}
	var hands []bool
	for len(hands) < 3 {
		ev := waitEvent(t, watcher, "presence.update", presenceOf(ja.Self.ID))
		hands = append(hands, participantIn(t, ev).Hand != 0)
	}
	require.Equal(t, []bool{true, false, true}, hands, "batched events keep their order")

	var batches int
	for _, f := range rec.all() {
		var env protocol.Envelope
		require.NoError(t, json.Unmarshal(f, &env))
		if env.Type == "presence.batch" {
			batches++
		}
	}
	require.NotZero(t, batches, "at least one presence.batch frame")
	require.Equal(t, uint64(len(rec.all())), watcher.ReceivedFrames())
}

// TestJoinReplyPresenceCap: the join reply of a large room lists the
// joiner, speakers and raised hands first, and counts everyone.
func TestJoinReplyPresenceCap(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{MaxPresenceList: 3}, nil)
	spk := e.Dial(t, s, e.Token(t, tenantA, "spk", auth.RoleSpeaker))
	js := join(t, spk, "hall", false)
	var hand string
	for i, name := range []string{"a1", "a2", "a3"} {
		c := e.Dial(t, s, e.Token(t, tenantA, name, auth.RoleAttendee))
		j := join(t, c, "hall", false)
		if i == 2 {
			_, err := request(t, c, "hand.raise", "hall", nil)
			require.NoError(t, err)
			hand = j.Self.ID
		}
	}
	late := e.Dial(t, s, e.Token(t, tenantA, "late", auth.RoleAttendee))
	jl := join(t, late, "hall", false)
	require.Equal(t, 5, jl.Count)
	require.ElementsMatch(t, []string{jl.Self.ID, js.Self.ID, hand}, ids(jl.Participants))
}

// TestPresenceQuietAbove: in a room at PresenceQuietAbove participants a
// plain attendee's join is not announced; raising a hand introduces it
// with presence.join, and only then is its leave announced.
func TestPresenceQuietAbove(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{PresenceQuietAbove: 2}, nil)
	watcher := e.Dial(t, s, e.Token(t, tenantA, "watch", auth.RoleAttendee))
	join(t, watcher, "big", false)
	ada := e.Dial(t, s, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	ja := join(t, ada, "big", false)
	require.Equal(t, 2, ja.Count)

	_, err := request(t, ada, "hand.raise", "big", nil)
	require.NoError(t, err)
	// Events arrive in order: had the join been announced, its
	// presence.join (without a hand) would come first.
	ev := waitEvent(t, watcher, "presence.join", presenceOf(ja.Self.ID))
	require.NotZero(t, participantIn(t, ev).Hand, "a quiet attendee is introduced when it raises a hand")

	_, err = request(t, ada, "leave", "big", nil)
	require.NoError(t, err)
	waitEvent(t, watcher, "presence.leave", presenceOf(ja.Self.ID))
}
