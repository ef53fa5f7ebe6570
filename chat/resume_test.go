package chat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
)

// TestResume500 is the resume acceptance test: a client that was
// away while 500 messages were sent receives exactly those 500, in order,
// on rejoin — with recent history large enough to hold them, and with a
// window so small that most come from the archive.
func TestResume500(t *testing.T) {
	cases := []struct {
		name    string
		window  int
		backend string
	}{
		{"memory/in-window", 1000, "memory"},
		{"memory/from-archive", 100, "memory"},
		{"redis/in-window", 1000, "redis"},
		{"redis/from-archive", 100, "redis"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hist chat.History = chat.NewMemoryHistory(tc.window)
			if tc.backend == "redis" {
				hist = newRedisHistory(t, requireRedis(t), tc.window)
			}
			e := newEnv(t, chat.Config{MaxReplay: 1000}, hist)
			sender := conn(tenantA, "sender", auth.RoleAttendee, "main")
			away := conn(tenantA, "away", auth.RoleAttendee, "main")

			// Some history before the client leaves.
			for i := range 10 {
				e.send(sender, "main", fmt.Sprintf("before %d", i))
			}
			_, sync := e.join(away, "main", 0)
			last := uint64(sync["head"].(float64))
			require.Equal(t, uint64(10), last)

			for i := 1; i <= 500; i++ {
				e.send(sender, "main", fmt.Sprintf("missed %d", i))
			}
			evs, sync := e.join(away, "main", last)
			requireMessages(t, evs, "missed", 1, 500)
			require.Equal(t, last+1, evs[0].Seq)
			require.Equal(t, true, sync["complete"])
			require.Equal(t, float64(last+500), sync["head"])

			// Resuming again from the end replays nothing.
			evs, sync = e.join(away, "main", last+500)
			require.Empty(t, evs)
			require.Equal(t, true, sync["complete"])

			// An older resume point spans both parts too.
			evs, sync = e.join(away, "main", 1)
			require.Len(t, evs, 509)
			require.Equal(t, true, sync["complete"])
		})
	}
}

// TestResumeBeyondMaxReplay checks the cap: the newest MaxReplay events,
// in order, and complete=false.
func TestResumeBeyondMaxReplay(t *testing.T) {
	e := newEnv(t, chat.Config{MaxReplay: 50, JoinBacklog: 5}, chat.NewMemoryHistory(20))
	c := conn(tenantA, "u", auth.RoleAttendee, "main")
	for i := 1; i <= 120; i++ {
		e.send(c, "main", fmt.Sprintf("m %d", i))
	}
	evs, sync := e.join(c, "main", 3)
	requireMessages(t, evs, "m", 71, 120)
	require.Equal(t, false, sync["complete"])
	require.Equal(t, float64(70), sync["from"])

	// A first join gets the backlog.
	evs, sync = e.join(c, "main", 0)
	requireMessages(t, evs, "m", 116, 120)
	require.Equal(t, float64(120), sync["head"])

	// A client ahead of the room (history reset) learns the head.
	evs, sync = e.join(c, "main", 500)
	require.Empty(t, evs)
	require.Equal(t, float64(120), sync["head"])
}

// TestResumeAfterProcessRestart: a new service with an empty memory
// history continues the sequence from the archive and replays from it.
func TestResumeAfterProcessRestart(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	c := conn(tenantA, "u", auth.RoleAttendee, "main")
	for i := 1; i <= 30; i++ {
		e.send(c, "main", fmt.Sprintf("m %d", i))
	}
	require.NoError(t, e.svc.Close())

	svc2, err := chat.New(chat.Config{}, chat.Deps{Store: e.st, History: chat.NewMemoryHistory(0), Publisher: e.pub, Log: quietLog})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc2.Close() })
	e.svc = svc2
	require.Equal(t, uint64(31), e.send(c, "main", "m 31"))
	evs, _ := e.join(c, "main", 10)
	requireMessages(t, evs, "m", 11, 31)
}

// TestFirstJoinYoungRoomReadsHistory: a first join of a room with fewer
// events than JoinBacklog gets them from recent history, not from the
// archive. The events are put in history only (as if the archive writer
// had not caught up yet), so a replay that went to the archive would come
// back empty.
func TestFirstJoinYoungRoomReadsHistory(t *testing.T) {
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			var hist chat.History = chat.NewMemoryHistory(1000)
			if backend == "redis" {
				hist = newRedisHistory(t, requireRedis(t), 1000)
			}
			e := newEnv(t, chat.Config{}, hist)
			k := chat.RoomKey{Tenant: tenantA, Room: "young"}
			ctx := context.Background()
			require.NoError(t, hist.Seed(ctx, k, 0))
			for i := 1; i <= 3; i++ {
				ev := &chat.Event{Type: "chat.message", Data: []byte(fmt.Sprintf(`{"user":"u","role":"attendee","text":"h%d","ts":1}`, i))}
				_, err := hist.Append(ctx, k, ev)
				require.NoError(t, err)
			}
			evs, sync := e.join(conn(tenantA, "new", auth.RoleAttendee, "young"), "young", 0)
			require.Len(t, evs, 3, "the backlog comes from history")
			require.Equal(t, uint64(1), evs[0].Seq)
			require.Equal(t, float64(3), sync["head"])
			require.Equal(t, true, sync["complete"])
		})
	}
}
